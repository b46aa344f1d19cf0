"""Asking Ray Train for preemption notices every few seconds rather than every G step.

``ray.train.get_preemption_info()`` is a barrier across the run's workers through Ray's actors
(4.4 ms a call measured on CPU): every step, that is a tax on fast steps. A notice comes with
the pod's drain window (``S3GAN_RAY_TERMINATION_GRACE_SECONDS`` − 15 s, 105 s by default), so
asking every ``POLL_SECONDS`` loses nothing. Rank 0's clock decides when; the decision reaches
the replicas among the step's flags (``rank_zero_decides``), so every worker calls Ray the
same number of times, as Ray requires.
"""

from __future__ import annotations

import time
from collections.abc import Callable

POLL_SECONDS = 5.0


class PreemptionPoll:
    def __init__(self, every_seconds: float = POLL_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self._every = every_seconds
        self._clock = clock
        self._last = clock()

    def due(self) -> bool:
        """Whether to ask now; a True starts the next interval."""
        now = self._clock()
        if now - self._last < self._every:
            return False
        self._last = now
        return True
