"""The process-tree sampler sees what a real tree uses: a grandchild that holds a known amount of
memory and burns a known CPU time, and scripts/measure_tree.py reports it the same way."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from benchmarks.support.process_tree import TreeSampler

REPO = Path(__file__).resolve().parents[2]
MIB = 2**20
HELD = 300 * MIB
# Holds HELD bytes of written (so resident) memory for a second, after 0.3 s of CPU time.
GRANDCHILD = (f"import time\nwhile time.process_time() < 0.3: pass\nheld = b'x' * {HELD}\n"
              "time.sleep(1.0)")
CHILD = ("import subprocess, sys\n"
         f"sys.exit(subprocess.run([sys.executable, '-c', {GRANDCHILD!r}]).returncode + 3)")


def test_the_sampler_sees_a_grandchilds_memory_and_cpu_time():
    child = subprocess.Popen([sys.executable, "-c", CHILD])
    with TreeSampler(child.pid, interval=0.05) as sampler:
        assert child.wait(timeout=60) == 3
    usage = sampler.usage
    assert usage.processes == 2
    assert HELD <= usage.descendant_peak < HELD + 100 * MIB
    assert 0 < usage.root_peak < 100 * MIB  # the child itself holds only an interpreter
    assert usage.total_peak >= usage.descendant_peak + usage.root_peak // 2
    assert usage.cpu_seconds >= 0.3


def test_measure_tree_reports_the_trees_peak_and_the_commands_exit_code():
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "measure_tree.py"), "--",
                           sys.executable, "-c", CHILD], capture_output=True, text=True,
                          timeout=60, cwd="/")
    assert done.returncode == 3, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    found = re.fullmatch(r"measure_tree: exit 3; wall \d+ s; CPU \d+ s sampled over 2 processes"
                         r" \(\d+ s by rusage of reaped children\); peak summed RSS"
                         r" (\d+\.\d\d) GiB", line)
    assert found, line
    assert HELD / 2**30 <= float(found.group(1)) < (HELD + 200 * MIB) / 2**30
