"""At most once per interval of a clock: the status reports' throttle and the preemption poll."""

from __future__ import annotations

import time
from collections.abc import Callable


class Interval:
    """``due()`` is True at most once per ``seconds`` of ``clock``. The first call is due when
    ``first_at_once``; otherwise the first interval starts now."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic,
                 first_at_once: bool = True):
        self.seconds, self._clock = seconds, clock
        self._last = None if first_at_once else clock()

    def due(self) -> bool:
        """Whether ``seconds`` have passed since the last True; a True starts the next."""
        now = self._clock()
        if self._last is not None and now - self._last < self.seconds:
            return False
        self._last = now
        return True
