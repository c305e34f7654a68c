"""Following a submitted run: where it is, waiting for it to end, and what its tasks said.

A run's (and a task's) progress is read from its `status`: the SDK marks the older `state` field
deprecated. `status.state` is PENDING, QUEUED, RUNNING, TERMINATING, TERMINATED, ...; once TERMINATED,
`status.termination_details` says why (`code` SUCCESS, RUN_EXECUTION_ERROR, CLOUD_FAILURE, ...) with a
message. Only an answer without `status` falls back to `state`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..text import strip_ansi
from .errors import DeployError

# The older `state.life_cycle_state`s that end a run; `status.state` has only TERMINATED.
ENDED = {"TERMINATED", "SKIPPED", "INTERNAL_ERROR"}
TRACE_LINES = 12  # how much of a failed notebook's stack trace to show


@dataclass(frozen=True)
class Progress:
    life: str  # PENDING, RUNNING, TERMINATING, TERMINATED, ...
    result: str  # once ended, the termination code: SUCCESS, or why not; "" before
    message: str

    @property
    def ended(self) -> bool:
        return self.life in ENDED

    @property
    def succeeded(self) -> bool:
        return self.ended and self.result == "SUCCESS"

    def __str__(self) -> str:
        return f"{self.life}{' ' + self.result if self.result else ''}"


def progress(run) -> Progress:
    """The progress of a run or a task run (the SDK's `Run`, `BaseRun` or `RunTask`)."""
    status = run.status
    if status and status.state:
        details = status.termination_details
        queued = status.queue_details.message if status.queue_details else ""
        if details:
            return Progress(status.state.value, details.code.value if details.code else "", details.message or "")
        return Progress(status.state.value, "", queued or "")
    state = run.state  # an answer from before `status` existed
    life = state.life_cycle_state.value if state and state.life_cycle_state else "UNKNOWN"
    result = state.result_state.value if state and state.result_state else ""
    return Progress(life, result, (state.state_message or "") if state else "")


def wait(ws, run_id: int, timeout: int, poll_seconds: float, say):
    """Poll the run until it ends, printing each change of progress; cancel it after `timeout` seconds.
    Returns the ended run."""
    start = time.monotonic()
    shown, url = None, None
    while True:
        current = ws.run(run_id)
        if current.run_page_url and not url:
            url = current.run_page_url
            say(f"Run page: {url}")
        now = progress(current)
        if shown is None or (now.life, now.result) != (shown.life, shown.result):
            elapsed = int(time.monotonic() - start)
            say(f"  [{elapsed // 60:02d}:{elapsed % 60:02d}] {now}{': ' + now.message if now.message else ''}")
            shown = now
        if now.ended:
            return current
        if time.monotonic() - start >= timeout:
            ws.cancel(run_id)
            raise DeployError(
                f"run {run_id} did not finish within --timeout {timeout} s (still {now.life}); it has been "
                f"cancelled. Allow it longer with --timeout. Run page: {url}"
            )
        time.sleep(poll_seconds)


def wait_until_ended(ws, run_id: int, poll_seconds: float, limit: float = 600) -> None:
    """After a cancel: the run passes through TERMINATING for a while, and cannot be deleted until it ends."""
    start = time.monotonic()
    while not progress(ws.run(run_id)).ended:
        if time.monotonic() - start > limit:
            raise DeployError(f"run {run_id} is still being cancelled after {limit:.0f} s; run clean-up again later")
        time.sleep(poll_seconds)


@dataclass(frozen=True)
class TaskOutcome:
    """What one task run ended with: its progress, the notebook's error (if any) and its exit value."""

    progress: Progress
    error: str  # one line: the notebook's exception, or why the task never ran
    trace: list[str]
    result: str | None  # what the notebook passed to dbutils.notebook.exit


def outcome(ws, task) -> TaskOutcome:
    """Read a task's output. A task whose cluster never started has none: then its status says why."""
    done = progress(task)
    output = ws.output(task.run_id)
    error = strip_ansi((output.error if output else "") or "").strip()
    trace = strip_ansi((output.error_trace if output else "") or "").strip().splitlines()
    result = output.notebook_output.result if output and output.notebook_output else None
    if not error and not done.succeeded:
        error = done.message or f"ended {done}"
    return TaskOutcome(done, error.splitlines()[0] if error else "", trace, result)


def report_failure(ws, run_id: int, run, say) -> None:
    """For each task that did not succeed: the notebook's error and the end of its stack trace."""
    ended = progress(run)
    failed = [task for task in run.tasks or [] if not progress(task).succeeded]
    if not failed:
        say(f"run {run_id} ended {ended}: {ended.message or 'no message'}", err=True)
    for task in failed:
        told = outcome(ws, task)
        where = task.notebook_task.notebook_path if task.notebook_task else task.task_key
        say(f"run {run_id} failed ({ended}): {where}: {told.error}", err=True)
        if told.trace:
            say(f"  last {min(len(told.trace), TRACE_LINES)} lines of the stack trace:", err=True)
            say(*(f"    {line}" for line in told.trace[-TRACE_LINES:]), err=True)
