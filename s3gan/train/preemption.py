"""Saving on SIGTERM: the notice Kubernetes (and a spot/preemptible VM) gives before killing a
pod, ``terminationGracePeriodSeconds`` ahead. A retry resumes from the newest checkpoint, so a
checkpoint written on the notice loses no work at all."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

from s3gan.spec.model import Checkpointing
from s3gan.train.checkpoint import CheckpointSchedule


class PreemptibleSchedule(CheckpointSchedule):
    """Every ``everySteps`` G steps, every ``everyMinutes``, and as soon as SIGTERM arrived
    (then ``terminating`` stays True: the caller saves and stops)."""

    def __init__(self, config: Checkpointing, clock=time.monotonic):
        super().__init__(config, clock)
        self.terminating = False

    def due(self, step: int) -> bool:
        return self.terminating or super().due(step)

    @contextmanager
    def catching_sigterm(self) -> Iterator[PreemptibleSchedule]:
        """Within the block SIGTERM sets ``terminating`` instead of ending the process; the
        previous handler comes back on exit. Signal handlers belong to the main thread."""

        def note(signum, frame) -> None:
            self.terminating = True

        previous = signal.signal(signal.SIGTERM, note)
        try:
            yield self
        finally:
            signal.signal(signal.SIGTERM, previous)
