"""Rollback on collapse: BigGAN's remedy (Brock et al. 2019, section 4.2: "early stopping" from a
checkpoint saved before collapse) made automatic.

A :class:`CollapseGuard` sits beside a ``Trainer``: it feeds the collapse detector every G step
(D's hinge loss, G's adversarial loss, σ0 of both networks) and every evaluation's FID, marks
checkpoints saved while no signal is up as known-good (after an FID jump, only up to the
best-FID checkpoint: later ones produced the jump), and, when a signal fires and
``training.collapse.rollback`` is on, restores the last known-good checkpoint and sets both
learning rates to the spec's times ``learningRateFactor``^k for the k-th rollback. After
``maxRollbacks`` rollbacks the next collapse stops training with :class:`CollapseError`.

Each rollback is appended to ``rollbacks.json`` beside the checkpoints, so the count and the
reduced rates survive a restart, logged, and counted in ``s3gan_rollbacks_total``; the
checkpoints saved after the restored one are deleted, so a restart cannot resume the collapsed
run. The data stream is not rewound: the restored networks see fresh batches, not the ones
that led to the collapse, and ``batches_consumed`` keeps counting what the reader really
delivered, so a later resume positions the reader correctly.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from s3gan.monitor.collapse import (
    CollapseDetector,
    CollapseThresholds,
    Detection,
    largest_singular_value,
    publish,
)
from s3gan.spec.model import Collapse
from s3gan.train.checkpoint import CheckpointError, CheckpointStore, load
from s3gan.train.retention import Retention

LOG = "rollbacks.json"
DEFAULT_THRESHOLDS = CollapseThresholds()
logger = logging.getLogger(__name__)


class CollapseError(RuntimeError):
    """Collapse that may not, or cannot, be rolled back; the message says why and what is left."""


@dataclass(frozen=True)
class RollbackRecord:
    detected_at: int
    restored_step: int
    reasons: tuple[str, ...]
    g_learning_rate: float
    d_learning_rate: float


def read_rollbacks(root: Path) -> list[RollbackRecord]:
    """The rollbacks made so far in the run whose checkpoints are under ``root``."""
    path = Path(root) / LOG
    if not path.exists():
        return []
    try:
        return [RollbackRecord(**{**r, "reasons": tuple(r["reasons"])})
                for r in json.loads(path.read_text())]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: unreadable rollback log ({e!r})") from None


def _write_rollbacks(root: Path, records: list[RollbackRecord]) -> None:
    path = Path(root) / LOG
    partial = path.with_name(f".{LOG}.{os.getpid()}")
    with partial.open("w") as f:
        json.dump([asdict(r) for r in records], f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    partial.replace(path)


class CollapseGuard:
    """Collapse detection and rollback for one ``Trainer`` and its checkpoint store."""

    def __init__(self, trainer, store: CheckpointStore, retention: Retention,
                 thresholds: CollapseThresholds = DEFAULT_THRESHOLDS,
                 exporter=None, run_labels: dict[str, str] | None = None):
        self.trainer, self.store, self.retention = trainer, store, retention
        self.config: Collapse = trainer.spec.training.collapse
        self.detector = CollapseDetector(thresholds)
        self.exporter, self.run_labels = exporter, run_labels or {"experiment": "", "trial": ""}
        self.rollbacks = read_rollbacks(store.root)
        self.detector.baseline(self.sigma())

    def sigma(self) -> dict[str, float]:
        return {"generator": largest_singular_value(self.trainer.generator),
                "discriminator": largest_singular_value(self.trainer.discriminator)}

    def after_step(self, terms: dict[str, float]) -> Detection | None:
        """Feed one G step's losses; on collapse, roll back (or raise) as configured."""
        sigma = self.sigma()
        detection = self.detector.observe_step(self.trainer.step, terms["d_hinge"],
                                               terms["g_adversarial"], sigma)
        if self.exporter is not None:
            for network, value in sigma.items():
                self.exporter.set("s3gan_spectral_norm_max", value, network=network,
                                  **self.run_labels)
        return self._react(detection)

    def after_evaluation(self, step: int, fid: float) -> Detection | None:
        """Feed the FID measured on checkpoint ``step``. When it jumped, checkpoints since the
        best-FID one are suspect: the best-FID one becomes the last known-good."""
        self.retention.record_fid(step, fid)
        detection = self.detector.observe_fid(step, fid)
        if detection is not None and self.retention.best_fid is not None:
            self.retention.mark_good(self.retention.best_fid.step)
        return self._react(detection)

    def after_checkpoint(self, step: int) -> None:
        """Checkpoint ``step`` was saved; it is known-good unless a signal is up."""
        if not self.detector.collapsed:
            self.retention.mark_good(step)

    def _react(self, detection: Detection | None) -> Detection | None:
        if self.exporter is not None:
            publish(self.exporter, detection, **self.run_labels)
        if detection is None:
            return None
        logger.warning("%s", detection)
        if self.config.rollback:
            self._roll_back(detection)
        return detection

    def _roll_back(self, detection: Detection) -> None:
        made, allowed = len(self.rollbacks), self.config.max_rollbacks
        if made >= allowed:
            raise CollapseError(f"{detection}; {made} rollbacks already made "
                                f"(training.collapse.maxRollbacks = {allowed}): stopping. "
                                f"Last known-good checkpoint: {self._last_good_path()}")
        good = self.retention.last_good
        if good is None:
            raise CollapseError(f"{detection}; no known-good checkpoint to roll back to")
        path = self.store.root / f"step-{good:09d}"
        try:
            state = load(path)
        except CheckpointError as e:
            raise CollapseError(f"{detection}; the last known-good checkpoint is damaged: {e}"
                                ) from e
        factor = self.config.learning_rate_factor ** (made + 1)
        training = self.trainer.spec.training
        record = RollbackRecord(detection.step, good, tuple(detection.reasons),
                                training.g_learning_rate * factor,
                                training.d_learning_rate * factor)
        restore(self.trainer, state, record)
        self.rollbacks.append(record)
        _write_rollbacks(self.store.root, self.rollbacks)
        self._abandon_after(good)
        self.detector.reset()
        self.detector.baseline(self.sigma())
        if self.exporter is not None:
            self.exporter.inc("s3gan_rollbacks_total", **self.run_labels)
            publish(self.exporter, None, **self.run_labels)
        logger.warning("rollback %d of %d: restored %s, learning rates G %.3g, D %.3g",
                       len(self.rollbacks), allowed, path, record.g_learning_rate,
                       record.d_learning_rate)

    def _abandon_after(self, step: int) -> None:
        """Delete checkpoints newer than the restored one: they belong to the collapsed run, and
        a restart must not resume from them."""
        protected = self.retention.protected()
        for later in self.store.checkpoints():
            if later.step > step and later.step not in protected:
                shutil.rmtree(later.path)
                logger.warning("removed %s: saved after the restored checkpoint", later.path)

    def _last_good_path(self) -> str:
        good = self.retention.last_good
        return str(self.store.root / f"step-{good:09d}") if good is not None else "none"


def restore(trainer, state: dict, record: RollbackRecord) -> None:
    """Put ``state`` into ``trainer`` with the record's learning rates, the count of batches
    consumed kept (the reader is not rewound). Data-parallel replicas call this with rank 0's
    state and record after rank 0's guard rolled back."""
    consumed = trainer.batches_consumed
    trainer.load_state_dict(state)
    trainer.batches_consumed = consumed
    _set_learning_rate(trainer.gan_step.g_optimizer, record.g_learning_rate)
    _set_learning_rate(trainer.gan_step.d_optimizer, record.d_learning_rate)


def _set_learning_rate(optimizer, learning_rate: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = learning_rate
