"""`s3gan train` end to end on a tiny shard dataset: checkpoints, grids, resume, refusals."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import yaml
from PIL import Image

from s3gan.cli.main import main
from tests.fixtures.threads import one_intra_op_thread

EXPERIMENT = {
    "apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
    "metadata": {"name": "tiny-cli"},
    "spec": {
        "method": "biggan",
        "dataset": {"resolution": 32, "numClasses": 3},
        "model": {"ch": 8, "sharedEmbeddingDim": 8, "zDim": 20, "attention": False},
        "training": {"steps": 2, "globalBatch": 4, "logEverySteps": 1,
                     "ema": {"decay": 0.9, "startStep": 1},
                     "checkpoint": {"everySteps": 1, "keep": 2}},
        "evaluation": {"standingStatsSamples": 8},
    },
}


@pytest.fixture(autouse=True)
def one_thread():
    with one_intra_op_thread():
        yield


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> str:
    """Three classes of eight flat grey images each, converted to shards by `s3gan data`."""
    source = tmp_path_factory.mktemp("source")
    for c in range(3):
        (source / f"class{c}").mkdir()
        for i in range(8):
            pixels = np.full((32, 32, 3), 40 + 80 * c + i, dtype=np.uint8)
            Image.fromarray(pixels).save(source / f"class{c}" / f"{i}.png")
    dest = tmp_path_factory.mktemp("shards") / "tiny"
    assert main(["data", "convert", str(source), str(dest), "--resolution", "32",
                 "--workers", "1"]) == 0
    return str(dest)


def _experiment(tmp_path, dataset: str, method: str = "biggan"):
    document = yaml.safe_load(yaml.safe_dump(EXPERIMENT))
    document["spec"]["dataset"]["uri"] = dataset
    document["spec"]["method"] = method
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_trains_checkpoints_draws_grids_and_resumes(tmp_path, dataset, capsys):
    experiment, run = _experiment(tmp_path, dataset), tmp_path / "run"
    assert main(["train", str(experiment), "--run-dir", str(run)]) == 0
    out = capsys.readouterr().out
    assert "step 2/2  d_hinge" in out and "g_adversarial" in out
    assert sorted(p.name for p in (run / "checkpoints").glob("step-*")) == [
        "step-000000001", "step-000000002"
    ]
    grid = Image.open(run / "samples" / "step-000000002.png")
    assert grid.size == (2 + 10 * 34, 2 + 3 * 34)  # ten samples per class, one row per class

    assert main(["train", str(experiment), "--run-dir", str(run), "--steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "resumed from" in out and "(G step 2)" in out and "step 3/3" in out
    assert [p.name for p in sorted((run / "checkpoints").glob("step-*"))] == [
        "step-000000002", "step-000000003"
    ]


def test_sigterm_saves_a_checkpoint_and_stops(tmp_path, dataset, capsys, monkeypatch):
    from s3gan.train.trainer import Trainer

    train_step = Trainer.train_step

    def preempted_at_step_2(self):
        terms = train_step(self)
        if self.step == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # the pod's notice, mid-run
        return terms

    monkeypatch.setattr(Trainer, "train_step", preempted_at_step_2)
    handler = signal.getsignal(signal.SIGTERM)
    experiment, run = _experiment(tmp_path, dataset), tmp_path / "run"
    document = yaml.safe_load(experiment.read_text())
    document["spec"]["training"]["checkpoint"]["everySteps"] = 1000  # only SIGTERM saves
    experiment.write_text(yaml.safe_dump(document))
    assert main(["train", str(experiment), "--run-dir", str(run), "--steps", "50"]) == 143
    assert "SIGTERM: saved G step 2" in capsys.readouterr().out
    assert [p.name for p in (run / "checkpoints").glob("step-*")] == ["step-000000002"]
    assert (run / "experiment.yaml").read_text() == experiment.read_text()
    assert signal.getsignal(signal.SIGTERM) is handler


def test_a_damaged_newest_checkpoint_is_skipped_naming_the_file(tmp_path, dataset, capsys):
    experiment, run = _experiment(tmp_path, dataset), tmp_path / "run"
    assert main(["train", str(experiment), "--run-dir", str(run)]) == 0
    victim = run / "checkpoints" / "step-000000002" / "generator.pt"
    victim.write_bytes(victim.read_bytes()[:100])
    with pytest.warns(UserWarning, match=r"step-000000002/generator\.pt"):
        assert main(["train", str(experiment), "--run-dir", str(run), "--steps", "2"]) == 0
    assert "(G step 1)" in capsys.readouterr().out


def test_methods_that_need_a_pretrained_feature_extractor_are_refused(tmp_path, dataset, capsys):
    experiment = _experiment(tmp_path, dataset, method="s3gan")
    assert main(["train", str(experiment), "--run-dir", str(tmp_path / "run")]) == 2
    assert "s3gan run" in capsys.readouterr().err


def test_a_bad_experiment_file_names_the_field(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**EXPERIMENT, "spec": {**EXPERIMENT["spec"], "dataset": {}}}))
    assert main(["train", str(bad), "--run-dir", str(tmp_path / "run")]) == 2
    assert "spec.dataset.uri" in capsys.readouterr().err
