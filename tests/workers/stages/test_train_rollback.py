"""Collapse in the Ray train stage, on the session's local Ray (2 CPUs, two replicas): a run
resumed with D's learning rate far too high collapses, rank 0 detects it and rolls every replica
back to its last known-good checkpoint with reduced learning rates, and training goes on; past
``maxRollbacks`` the stage ends with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import ray.cloudpickle
import torch
from s3gan_workers import pipeline
from s3gan_workers.run_record import stage_dir, stage_key
from s3gan_workers.stages import train
from s3gan_workers.stages.run_files import METRICS

from s3gan.data.convert import convert
from s3gan.data.manifest import Settings
from s3gan.data.reader import TrainingReader
from s3gan.data.storage import open_location
from s3gan.methods import build_method
from s3gan.monitor.collapse import SPECTRAL_NORM_GROWTH
from s3gan.train.checkpoint import CheckpointStore
from s3gan.train.retention import Retention
from s3gan.train.rollback import CollapseError, read_rollbacks
from s3gan.train.trainer import Trainer
from tests.fixtures.datasets import quiet, write_fashion_subset
from tests.workers import pipeline_fixtures
from tests.workers.pipeline_fixtures import TinyNetwork, tiny_experiment

pytestmark = [pytest.mark.ray, pytest.mark.slow]
ray.cloudpickle.register_pickle_by_value(pipeline_fixtures)

STEPS = 3


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    source = write_fashion_subset(tmp_path_factory.mktemp("idx"), 128, 32)
    dest = tmp_path_factory.mktemp("rollback-data") / "ds"
    convert(str(source), str(dest), Settings(32, 1, "raw", 64), workers=1, report=quiet)
    return dest


def _experiment(dataset, steps: int, **collapse):
    """The tiny BigGAN run on two replicas, every G step checkpointed, rollback on."""
    experiment = tiny_experiment("tiny-collapse", "biggan", str(dataset), steps=steps)
    training = experiment.spec.training.model_validate({
        **experiment.spec.training.model_dump(by_alias=True),
        "checkpoint": {"everySteps": 1, "keep": 2},
        "collapse": {"rollback": True, **collapse}})
    evaluation = experiment.spec.evaluation.model_copy(update={"every_steps": 100})
    spec = experiment.spec.model_copy(update={"training": training, "evaluation": evaluation})
    return experiment.model_copy(update={"spec": spec})


def _checkpoints(experiment, run_dir: Path) -> Path:
    key = stage_key(train.NAME, {**train.depends_on(experiment.spec), "inputs": {}})
    return run_dir / stage_dir(train.NAME, key) / "checkpoints"


def _destabilised_checkpoint(experiment, root: Path) -> None:
    """What a healthy run left after G step 1 (saved while no signal was up, so known-good),
    with D's learning rate in it then raised 1000× (the single-process test's forced collapse):
    the run resumed from it collapses at G step 2."""
    spec = experiment.spec
    method = build_method(spec)
    reader = TrainingReader(spec.dataset.uri, spec.dataset.train_split, spec.micro_batch,
                            spec.seeds.gan, rank=0, world_size=2)
    first, second = (Trainer(spec, method, batches, "cpu", replica=rank, replicas=2)
                     for rank, batches in ((0, iter(reader)), (1, iter(()))))
    first.train_step()
    state = first.state_dict()
    state["rng"]["replicas"] = [first.rng.get_state(), second.rng.get_state()]
    for group in state["d_optimizer"]["param_groups"]:
        group["lr"] *= 1000
    CheckpointStore(root, keep=2).save(first.step, state)
    Retention(root).mark_good(first.step)


def _train(experiment, run_dir):
    return pipeline.run_pipeline(experiment, open_location(str(run_dir)), TinyNetwork(),
                                 say=lambda line: None, stages=(train,), summary=None)


def test_a_collapse_is_rolled_back_on_every_replica_and_training_finishes(
        ray_cluster, dataset, tmp_path):
    experiment = _experiment(dataset, STEPS, maxRollbacks=1, learningRateFactor=0.1)
    _destabilised_checkpoint(experiment, _checkpoints(experiment, tmp_path))
    records = _train(experiment, tmp_path)
    stage = tmp_path / records["train"].directory
    (rollback,) = read_rollbacks(stage / "checkpoints")
    assert (rollback.detected_at, rollback.restored_step) == (2, 1)
    assert SPECTRAL_NORM_GROWTH in rollback.reasons
    spec = experiment.spec.training
    assert rollback.d_learning_rate == pytest.approx(spec.d_learning_rate * 0.1)
    assert rollback.g_learning_rate == pytest.approx(spec.g_learning_rate * 0.1)
    # The reduced rates are what the optimisers trained with to the end.
    final = torch.load(stage / train.FINAL, weights_only=True)
    assert final["progress"]["step"] == STEPS
    assert final["d_optimizer"]["param_groups"][0]["lr"] == pytest.approx(
        rollback.d_learning_rate)
    assert final["g_optimizer"]["param_groups"][0]["lr"] == pytest.approx(
        rollback.g_learning_rate)
    # The collapsed step's log line was dropped with it: each step is logged once.
    metrics = [json.loads(line) for line in (stage / METRICS).read_text().splitlines()]
    assert [m["step"] for m in metrics if m["kind"] == "train"] == list(range(2, STEPS + 1))


def test_collapse_beyond_max_rollbacks_ends_the_stage_saying_why(ray_cluster, dataset,
                                                                 tmp_path):
    experiment = _experiment(dataset, 3, maxRollbacks=0)
    _destabilised_checkpoint(experiment, _checkpoints(experiment, tmp_path))
    with pytest.raises(CollapseError, match=r"train stage stopped: collapse at G step 2 "
                                            r"\(spectral_norm_growth.*0 rollbacks already made "
                                            r"\(training\.collapse\.maxRollbacks = 0\): stopping\. "
                                            r"Last known-good checkpoint: .*step-000000001$"):
        _train(experiment, tmp_path)
    assert not list(tmp_path.glob("stages/train/*/record.json"))  # not taken as finished
