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

from s3gan_workers.interval import Interval

POLL_SECONDS = 5.0


class PreemptionPoll(Interval):
    """Due every ``every_seconds``, the first time one interval after it starts."""

    def __init__(self, every_seconds: float = POLL_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(every_seconds, clock, first_at_once=False)
