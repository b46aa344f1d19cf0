"""What a process and all its descendants use while it runs, sampled with psutil every
``interval`` seconds: the root's peak resident memory, the largest peak of any descendant, the
peak of the tree's summed resident memory, and the CPU time (user + system) of every process
seen, each at its last sample.

Summed RSS counts pages shared between processes (Ray's object store, torch's libraries) once
per process, so it is an upper bound on the memory the tree needs. A process that starts and
ends between two samples is not seen.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import psutil


@dataclass
class TreeUsage:
    root_peak: int = 0  # bytes
    descendant_peak: int = 0  # bytes: the largest peak of any one descendant
    total_peak: int = 0  # bytes: the peak of the tree's summed RSS
    cpu_seconds: float = 0.0
    processes: int = 0  # how many processes were seen


class TreeSampler:
    """``with TreeSampler(pid) as sampler: ...`` samples the tree of ``pid`` in a thread until
    the block ends; ``sampler.usage`` then holds the figures."""

    def __init__(self, pid: int, interval: float):
        self.root = psutil.Process(pid)
        self.interval = interval
        self.usage = TreeUsage()
        self._cpu: dict[psutil.Process, float] = {}  # by process: a reused pid is another one
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        self.usage.cpu_seconds = sum(self._cpu.values())
        self.usage.processes = len(self._cpu)

    def _run(self) -> None:
        while not self._done.is_set():
            self.sample()
            self._done.wait(self.interval)

    def sample(self) -> None:
        try:
            tree = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:  # the root has exited
            return
        sizes = {}
        for process in tree:
            try:
                with process.oneshot():
                    rss, times = process.memory_info().rss, process.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):  # gone (or a zombie) meanwhile
                continue
            sizes[process] = rss
            self._cpu[process] = times.user + times.system
        usage = self.usage
        usage.total_peak = max(usage.total_peak, sum(sizes.values()))
        usage.root_peak = max(usage.root_peak, sizes.pop(self.root, 0))
        usage.descendant_peak = max([usage.descendant_peak, *sizes.values()])
