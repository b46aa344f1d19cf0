"""Run a command and report what its whole process tree used: wall time, CPU time (user +
system, summed over every process of the tree, Ray's workers included) and the peak of the
tree's summed resident memory, sampled every half second from /proc.

    python scripts/measure_tree.py -- make demo

Summed RSS counts pages shared between processes (Ray's object store, torch's libraries) once
per process, so it is an upper bound on the memory the tree needs.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _processes() -> dict[int, tuple[int, float, int]]:
    """pid → (parent pid, CPU seconds, resident bytes) of every process readable in /proc."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state ppid ... utime(12) stime(13) ... rss(22), 0-based here.
        parent, cpu = int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS
        found[int(name)] = (parent, cpu, int(fields[21]) * PAGE)
    return found


def _tree(root: int, processes: dict[int, tuple[int, float, int]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in tree:
            continue
        tree.add(pid)
        todo.extend(children.get(pid, ()))
    return tree


def main(argv: list[str]) -> int:
    command = argv[argv.index("--") + 1:] if "--" in argv else argv
    started = time.monotonic()
    child = subprocess.Popen(command)
    cpu_by_pid: dict[int, float] = {}
    peak = 0
    while child.poll() is None:
        processes = _processes()
        tree = _tree(child.pid, processes)
        peak = max(peak, sum(processes[p][2] for p in tree if p in processes))
        for pid in tree:
            if pid in processes:
                cpu_by_pid[pid] = processes[pid][1]
        time.sleep(0.5)
    wall = time.monotonic() - started
    sampled = sum(cpu_by_pid.values())
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the reaped descendants only
    print(f"measure_tree: exit {child.returncode}; wall {wall:.0f} s; CPU {sampled:.0f} s "
          f"sampled over {len(cpu_by_pid)} processes ({usage.ru_utime + usage.ru_stime:.0f} s "
          f"by rusage of reaped children); peak summed RSS {peak / 2**30:.2f} GiB",
          file=sys.stderr, flush=True)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
