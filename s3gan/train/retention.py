"""Which checkpoints outlive the store's "newest K": the best-FID one and the last known-good one.

BigGAN (Brock et al. 2019, section 4.2) stops at collapse and goes back to a checkpoint saved
before it; that needs a checkpoint known to precede the collapse, which the newest K may no
longer include by the time collapse is detected, and the best sample quality of the run, which
may lie far behind. Both are recorded in ``retention.json`` beside the checkpoints (written to a
temporary file, then renamed over the old record: a reader sees the old record or the new one)
and :meth:`Retention.protected` hands their steps to ``CheckpointStore`` so pruning spares them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

RECORD = "retention.json"


@dataclass(frozen=True)
class BestFid:
    step: int
    fid: float


class Retention:
    """The retention record of the checkpoints under ``root``."""

    def __init__(self, root: Path):
        self.path = Path(root) / RECORD
        self.last_good: int | None = None
        self.best_fid: BestFid | None = None
        if self.path.exists():
            self._read()

    def mark_good(self, step: int) -> None:
        """Checkpoint ``step`` was saved while no collapse signal was up."""
        self.last_good = step
        self._write()

    def record_fid(self, step: int, fid: float) -> bool:
        """The FID measured on checkpoint ``step``; True when it is the best so far."""
        if self.best_fid is not None and fid >= self.best_fid.fid:
            return False
        self.best_fid = BestFid(step, fid)
        self._write()
        return True

    def protected(self) -> frozenset[int]:
        """Steps pruning must keep."""
        steps = {self.last_good, self.best_fid.step if self.best_fid else None}
        return frozenset(s for s in steps if s is not None)

    def _read(self) -> None:
        try:
            record = json.loads(self.path.read_text())
            self.last_good = record["lastGood"]
            best = record["bestFid"]
            self.best_fid = BestFid(int(best["step"]), float(best["fid"])) if best else None
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{self.path}: unreadable retention record ({e!r})") from None
        if self.last_good is not None and not isinstance(self.last_good, int):
            raise ValueError(f"{self.path}: lastGood must be a step number, "
                             f"got {self.last_good!r}")

    def _write(self) -> None:
        record = {"lastGood": self.last_good,
                  "bestFid": asdict(self.best_fid) if self.best_fid else None}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{RECORD}.{os.getpid()}")
        with partial.open("w") as f:
            json.dump(record, f)
            f.flush()
            os.fsync(f.fileno())
        partial.replace(self.path)
