"""What the runner hands a stage, and what a stage hands back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from s3gan_workers.run_record import StageRecord

from s3gan.data.storage import Location
from s3gan.eval.features import FeatureNetwork
from s3gan.spec.model import ExperimentSpec

# Builds the network FID reads (Inception, or a small stand-in in tests); runs on the worker,
# so it must pickle.
FeatureNetworkFactory = Callable[[], FeatureNetwork]


@dataclass(frozen=True)
class KillAtStep:
    """Fault drill: the rank-0 training process kills itself (SIGKILL, no clean-up) right after
    G step ``step``, once — ``marker`` records that it happened, so the restarted worker goes on."""

    step: int
    marker: str


@dataclass(frozen=True)
class StageContext:
    spec: ExperimentSpec
    experiment: str
    run: Location
    directory: str  # the stage's artefacts, relative to the run directory
    key: str
    inputs: dict[str, StageRecord]
    feature_network: FeatureNetworkFactory
    metrics_port: int | None = None
    fault: KillAtStep | None = None
    say: Callable[[str], None] = print
    trial: str = ""  # the sweep trial this run is; "" outside sweeps

    @property
    def run_labels(self) -> dict[str, str]:
        """The catalogue's run labels (``experiment``, ``trial``) of this run's metrics."""
        return {"experiment": self.experiment, "trial": self.trial}


@dataclass(frozen=True)
class StageOutput:
    results: dict[str, Any]
    outputs: tuple[str, ...] = field(default=())
