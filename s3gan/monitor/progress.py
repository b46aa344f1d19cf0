"""Progress of a long step as one line: done/total, the current rate, and the time left.

The rate is over the last ``window`` seconds of updates (not an average since the start, which
hides a slow-down and counts start-up time), so the time left follows what the step does now.
On a terminal the line is redrawn in place (carriage return); in a log or through Ray's
forwarding of a worker's stdout, each update is its own plain line, at most one per
``every_seconds``.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import torch


def duration(seconds: float) -> str:
    """``1h02m``, ``4m05s``, ``12s``."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class RateMeter:
    """The recent rate of a count towards ``total`` and the time left at that rate."""

    def __init__(self, total: int, start: int = 0, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.total, self.window, self.clock = total, window, clock
        self.points: deque[tuple[float, int]] = deque([(clock(), start)])

    def update(self, done: int) -> None:
        now = self.clock()
        self.points.append((now, done))
        while len(self.points) > 2 and now - self.points[1][0] >= self.window:
            self.points.popleft()

    @property
    def done(self) -> int:
        return self.points[-1][1]

    @property
    def rate(self) -> float | None:
        """Units per second over the window; None before two distinct moments."""
        (t0, n0), (t1, n1) = self.points[0], self.points[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else None

    @property
    def seconds_left(self) -> float | None:
        rate = self.rate
        return (self.total - self.done) / rate if rate else None

    def pace(self, unit: str, scale: float = 1.0) -> str:
        """``38.2 img/s · 4m12s left``: ``scale`` turns the counted unit into ``unit`` (e.g.
        images per G step)."""
        rate = self.rate
        if rate is None:
            return "rate pending"
        left = self.seconds_left
        eta = "" if left is None else f" · {duration(left)} left"
        return f"{rate * scale:.1f} {unit}/s{eta}"

    def describe(self, unit: str) -> str:
        """``450/900 G steps · 1.2 G steps/s · 6m15s left``."""
        return f"{self.done}/{self.total} {unit} · {self.pace(unit)}"


class ProgressLine:
    """``label: <meter>`` printed as it advances: in place on a terminal, else plain lines."""

    def __init__(self, label: str, total: int, unit: str, every_seconds: float = 10.0,
                 stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        self.label, self.unit, self.every, self.clock = label, unit, every_seconds, clock
        self.stream = stream or sys.stdout
        self.meter = RateMeter(total, clock=clock)
        self.printed = clock()
        self.in_place = getattr(self.stream, "isatty", lambda: False)()

    def advance(self, done: int) -> None:
        self.meter.update(done)
        final = done >= self.meter.total
        if final or self.clock() - self.printed >= self.every:
            self._write(final)

    def _write(self, final: bool) -> None:
        text = f"{self.label}: {self.meter.describe(self.unit)}"
        if self.in_place:
            self.stream.write(f"\r\x1b[2K{text}" + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.printed = self.clock()


def tracked(batches: Iterable[torch.Tensor], line: ProgressLine) -> Iterator[torch.Tensor]:
    """``batches`` unchanged, advancing ``line`` by each batch's first dimension."""
    done = 0
    for batch in batches:
        yield batch
        done += batch.shape[0]
        line.advance(done)
