"""Rules that span fields, written once and enforced twice.

Each rule carries a Python predicate (checked by ``s3gan spec validate`` and every loader) and
the same rule in CEL (emitted into the CRD as ``x-kubernetes-validations`` on ``spec``), so the
API server rejects what the CLI rejects. Tests evaluate both on the same documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from s3gan.spec.model import Z_CHUNKS, ExperimentSpec

# Sweep parameter → the spec field it sets (paper section 4's sweeps, plus seeds).
SWEEP_PARAMETERS: dict[str, str] = {
    "method": "method",
    "alpha": "training.alpha",
    "beta": "training.beta",
    "lambda": "training.lambda",
    "gamma": "pretraining.gamma",
    "clusters": "labels.clusters",
    "fraction": "labels.fraction",
    "seed": "seeds.gan",
}

# Fields that define what an experiment is; the CRD refuses changes after creation.
IMMUTABLE_FIELDS = ("method", "dataset", "model")


@dataclass(frozen=True)
class Rule:
    path: str  # where the problem is reported, e.g. "spec.training.globalBatch"
    message: str
    # Evaluated with self = spec; None where the CRD's schema already enforces the rule.
    cel: str | None
    holds: Callable[[ExperimentSpec], bool]


# Storage locations: credentials go by Secret reference only, and a pod's cloud metadata service
# (link-local addresses) is never an endpoint: it hands out the node's own credentials.
_USERINFO = r"^[a-z][a-z0-9+.-]*://[^/?#]*@"
_METADATA_HOST = (r"^[a-z][a-z0-9+.-]*://\[?(169\.254\.|fe80:|fd00:ec2::254"
                  r"|metadata\.google\.internal|metadata([:/?#]|$))")
_REQUIRED_LOCATIONS = ("dataset.uri", "storage.runs")


def safe_location(value: str | None) -> bool:
    """No ``user:key@`` and no metadata-service host in a path or URI."""
    return value is None or not (re.match(_USERINFO, value.lower())
                                 or re.match(_METADATA_HOST, value.lower()))


def _cel_string(regex: str) -> str:
    return "'" + regex.replace("\\", "\\\\") + "'"


def _location_rule(path: str, get: Callable[[ExperimentSpec], str | None]) -> Rule:
    field = path.removeprefix("spec.")
    value = f"self.{field}.lowerAscii()"
    guard = "" if field in _REQUIRED_LOCATIONS else f"!has(self.{field}) || "
    return Rule(
        path,
        f"{field} must carry no credentials (user:key@; name a Secret in "
        "storage.credentials.secretName) and no link-local or cloud metadata address",
        f"{guard}!({value}.matches({_cel_string(_USERINFO)})"
        f" || {value}.matches({_cel_string(_METADATA_HOST)}))",
        lambda s: safe_location(get(s)),
    )


def _batch_factors(s: ExperimentSpec) -> bool:
    per_step = (s.training.micro_batch or 1) * s.resources.workers
    return s.training.global_batch % per_step == 0 and s.training.global_batch >= per_step


def _accelerator_named(s: ExperimentSpec) -> bool:
    a = s.resources.accelerator
    return {"cpu": a.type is None, "gpu": a.type is not None}.get(a.kind, a.type is not None)


def _z_chunks_cel() -> str:
    *rest, (_, last) = Z_CHUNKS.items()
    return "".join(f"self.dataset.resolution == {r} ? {n} : " for r, n in rest) + str(last)


RULES: tuple[Rule, ...] = (
    Rule(
        "spec.model.zDim",
        "with hierarchicalZ, zDim must split evenly into one chunk per generator block plus one "
        "(" + ", ".join(f"{n} chunks at {r}px" for r, n in Z_CHUNKS.items()) + ")",
        f"!self.model.hierarchicalZ || self.model.zDim % ({_z_chunks_cel()}) == 0",
        lambda s: not s.model.hierarchical_z
        or s.model.z_dim % Z_CHUNKS[s.dataset.resolution] == 0,
    ),
    Rule(
        "spec.training.globalBatch",
        "globalBatch must equal microBatch × accumulation × resources.workers "
        "(a whole number of accumulation steps)",
        "has(self.training.microBatch)"
        " ? self.training.globalBatch % (self.training.microBatch * self.resources.workers) == 0"
        " && self.training.globalBatch >= self.training.microBatch * self.resources.workers"
        " : self.training.globalBatch % self.resources.workers == 0"
        " && self.training.globalBatch >= self.resources.workers",
        _batch_factors,
    ),
    Rule(
        "spec.pretraining.unlabelledPerBatch",
        "unlabelledPerBatch must not exceed pretraining.batchSize",
        "self.pretraining.unlabelledPerBatch <= self.pretraining.batchSize",
        lambda s: s.pretraining.unlabelled_per_batch <= s.pretraining.batch_size,
    ),
    Rule(
        "spec.pretraining.decayEpochs",
        "every decay epoch and warmupEpochs must be below pretraining.epochs",
        "self.pretraining.decayEpochs.all(e, e < self.pretraining.epochs)"
        " && self.pretraining.warmupEpochs < self.pretraining.epochs",
        lambda s: all(e < s.pretraining.epochs for e in s.pretraining.decay_epochs)
        and s.pretraining.warmup_epochs < s.pretraining.epochs,
    ),
    Rule(
        "spec.resources.accelerator.type",
        "accelerator.type names the GKE accelerator for kind gpu or tpu, and is unset for cpu",
        "self.resources.accelerator.kind == 'cpu'"
        " ? !has(self.resources.accelerator.type)"
        " : has(self.resources.accelerator.type)",
        _accelerator_named,
    ),
    Rule(
        "spec.resources.accelerator.topology",
        "accelerator.topology (e.g. 2x2x4) is required for kind tpu and only for it",
        "(self.resources.accelerator.kind == 'tpu') == has(self.resources.accelerator.topology)",
        lambda s: (s.resources.accelerator.kind == "tpu")
        == (s.resources.accelerator.topology is not None),
    ),
    # The CRD types the grid per parameter (each a non-empty list of its field's values), so
    # the API server refuses an unknown key or an empty list by its schema.
    Rule(
        "spec.training.compile",
        "training.compile and training.fusedAdam are for CPU and GPU workers; on TPU torch-xla "
        "compiles the whole update",
        "!(self.training.compile"
        " || (has(self.training.fusedAdam) && self.training.fusedAdam))"
        " || self.resources.accelerator.kind != 'tpu'",
        lambda s: not (s.training.compile or s.training.fused_adam)
        or s.resources.accelerator.kind != "tpu",
    ),
    Rule(
        "spec.sweep.grid",
        "sweep.grid keys must be among: " + ", ".join(SWEEP_PARAMETERS),
        None,
        lambda s: s.sweep is None or all(k in SWEEP_PARAMETERS for k in s.sweep.grid),
    ),
    Rule(
        "spec.sweep.grid",
        "every sweep.grid parameter needs at least one value",
        None,
        lambda s: s.sweep is None or all(len(v) > 0 for v in s.sweep.grid.values()),
    ),
    _location_rule("spec.dataset.uri", lambda s: s.dataset.uri),
    _location_rule("spec.storage.runs", lambda s: s.storage.runs),
    _location_rule("spec.storage.endpoint", lambda s: s.storage.endpoint),
    _location_rule("spec.evaluation.inceptionWeights", lambda s: s.evaluation.inception_weights),
)
