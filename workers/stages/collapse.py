"""Rollback on collapse across data-parallel replicas: ``s3gan.train.rollback`` (BigGAN, Brock
et al. 2019, section 4.2: go back to a checkpoint saved before the collapse) on Ray Train.

Rank 0 owns the :class:`~s3gan.train.rollback.CollapseGuard`: it alone sees the losses it logs,
measures FID and writes checkpoints, so it alone detects collapse, restores its trainer and
appends to ``rollbacks.json``. Whether it decided anything reaches the other replicas as one
of the step's flags (``rank_zero_decides``); only when that flag is up does rank 0 send the
event itself: the restored checkpoint's state with the :class:`RollbackRecord` (every replica then
holds the same networks, optimiser state and reduced learning rates, and its own sampling
stream as saved), or the reason training must stop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from s3gan_workers.stages.replicas import broadcast_from_rank_zero

from s3gan.train.checkpoint import load
from s3gan.train.rollback import CollapseError, CollapseGuard, RollbackRecord, restore
from s3gan.train.trainer import Trainer


@dataclass(frozen=True)
class Rollback:
    """Rank 0 rolled back: ``state`` is the checkpoint it restored, as saved (with every
    replica's sampling stream)."""

    record: RollbackRecord
    state: dict


@dataclass(frozen=True)
class Stop:
    """Collapse that may not, or cannot, be rolled back: training ends, for ``reason``."""

    reason: str


Event = Rollback | Stop


def watched(guard: CollapseGuard, observe: Callable[[], object]) -> Event | None:
    """Run one of rank 0's guard observations (``after_step``, ``after_evaluation``) and say
    what the replicas must do about it."""
    made = len(guard.rollbacks)
    try:
        observe()
    except CollapseError as e:
        return Stop(str(e))
    if len(guard.rollbacks) == made:
        return None
    record = guard.rollbacks[-1]
    return Rollback(record, load(guard.store.root / f"step-{record.restored_step:09d}"))


def shared(event: Event | None, flagged: bool) -> Event | None:
    """Rank 0's ``event`` on every replica, sent only when rank 0 ``flagged`` one."""
    return broadcast_from_rank_zero(event) if flagged else None


def follow(trainer: Trainer, rollback: Rollback, rank: int) -> None:
    """Put rank 0's restored state, its learning rates and this replica's saved sampling stream
    into the trainer of replica ``rank`` (rank 0's guard has done so for its own)."""
    restore(trainer, rollback.state, rollback.record)
    trainer.restore_sampling_stream(rollback.state["rng"]["replicas"][rank])
