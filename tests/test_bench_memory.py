"""The memory figures of `scripts/bench.py`'s scale section, on real processes (no timings here).

The scale table reports, per notebook, the peak resident memory of its Python process and of Spark's JVM
driver. Its sampler must see a child's memory (the JVM is a child of the notebook's Python process), and
must not count twice memory that a forked child still shares with its parent.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from devtools.benchmark import ProcessTreeMemory

MIB = 1024 * 1024


def peaks_of(script: str) -> dict[str, float]:
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)])
    sampler = ProcessTreeMemory(process.pid, every=0.05)
    sampler.start()
    process.wait(timeout=60)
    sampler.done.set()
    sampler.join()
    assert process.returncode == 0
    return sampler.peak_mib


def test_a_childs_memory_is_seen():
    """The parent stays small; its child holds 300 MiB for a second."""
    peaks = peaks_of(f"""
        import subprocess, sys
        subprocess.run([sys.executable, "-c", "import time; b = bytearray({300 * MIB}); time.sleep(1)"], check=True)
    """)
    assert 300 <= peaks["python"] < 450
    assert peaks["java"] == 0


def test_memory_a_forked_child_shares_is_counted_once():
    """The parent holds 300 MiB, then forks a child that shares it for a second: 300 MiB, not 600."""
    peaks = peaks_of(f"""
        import os, time
        held = bytearray({300 * MIB})
        child = os.fork()
        if child == 0:
            time.sleep(1)
            os._exit(0)
        os.waitpid(child, 0)
    """)
    assert 300 <= peaks["python"] < 450
