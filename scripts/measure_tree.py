"""Run a command and report what its whole process tree used: wall time, CPU time (user +
system, summed over every process of the tree, Ray's workers included) and the peak of the
tree's summed resident memory, sampled every half second (benchmarks/support/process_tree.py).

    python scripts/measure_tree.py -- make demo

Summed RSS counts pages shared between processes (Ray's object store, torch's libraries) once
per process, so it is an upper bound on the memory the tree needs.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

# Run as a script, this folder heads sys.path; the sampler lives in the repository's benchmarks.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.support.process_tree import TreeSampler  # noqa: E402


def main(argv: list[str]) -> int:
    command = argv[argv.index("--") + 1:] if "--" in argv else argv
    started = time.monotonic()
    child = subprocess.Popen(command)
    with TreeSampler(child.pid, interval=0.5) as sampler:
        child.wait()
    wall = time.monotonic() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the reaped descendants only
    print(f"measure_tree: exit {child.returncode}; wall {wall:.0f} s; CPU "
          f"{sampler.usage.cpu_seconds:.0f} s sampled over {sampler.usage.processes} processes "
          f"({usage.ru_utime + usage.ru_stime:.0f} s by rusage of reaped children); peak summed "
          f"RSS {sampler.usage.total_peak / 2**30:.2f} GiB", file=sys.stderr, flush=True)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
