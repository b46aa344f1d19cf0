"""The whole pipeline on the session's local Ray (2 CPUs), a tiny experiment and a tiny feature
network: every artefact written, finished stages skipped, a killed worker resumed."""

from __future__ import annotations

import json
import shutil

import pytest
import ray
import ray.cloudpickle
import torch
from s3gan_workers import pipeline
from s3gan_workers.run_record import RECORD
from s3gan_workers.stages.context import KillAtStep
from s3gan_workers.stages.run_files import CURVES, METRICS, grid_name

from s3gan.data.convert import convert
from s3gan.data.manifest import Settings
from s3gan.data.masks import create_masks
from s3gan.data.storage import open_location
from tests.fixtures.datasets import quiet, write_fashion_subset
from tests.workers import pipeline_fixtures
from tests.workers.pipeline_fixtures import TinyNetwork, tiny_experiment

pytestmark = [pytest.mark.ray, pytest.mark.slow]
# Ray workers cannot import the test package: they get the tiny network's code by value.
ray.cloudpickle.register_pickle_by_value(pipeline_fixtures)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    source = write_fashion_subset(tmp_path_factory.mktemp("idx"), 256, 64)
    dest = tmp_path_factory.mktemp("pipeline-data") / "ds"
    convert(str(source), str(dest), Settings(32, 1, "raw", 64), workers=1, report=quiet)
    create_masks(open_location(str(dest)), [0.1], seed=0)
    return dest


def _run(experiment, run_dir, **options):
    lines = []
    records = pipeline.run_pipeline(experiment, open_location(str(run_dir)),
                                    feature_network=TinyNetwork(), say=lines.append, **options)
    return records, lines


def _final_generator(run_dir, records):
    state = torch.load(run_dir / records["train"].directory / "final.pt", weights_only=True)
    return state["generator"]


@pytest.fixture(scope="module")
def s3gan_run(ray_cluster, dataset, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "tiny-s3gan"
    experiment = tiny_experiment("tiny-s3gan", "s3gan", str(dataset))
    records, lines = _run(experiment, run_dir)
    return experiment, run_dir, records, lines


def test_s3gan_pipeline_writes_every_artefact(s3gan_run):
    experiment, run_dir, records, lines = s3gan_run
    assert list(records) == ["pretrain", "labels", "train", "evaluate"]
    for record in records.values():
        stage = run_dir / record.directory
        assert (stage / RECORD).is_file()
        assert all((stage / name).is_file() for name in record.outputs)
    assert 0.0 <= records["pretrain"].results["probeAccuracy"] <= 1.0
    assert records["labels"].results["images"] == 256
    assert 0.0 <= records["labels"].results["accuracy"] <= 1.0
    train = run_dir / records["train"].directory
    assert (train / grid_name(6)).is_file() and (train / CURVES).is_file()
    metrics = [json.loads(line) for line in (train / METRICS).read_text().splitlines()]
    assert [m["step"] for m in metrics if m["kind"] == "train"] == [1, 2, 3, 4, 5, 6]
    assert [m["step"] for m in metrics if m["kind"] == "fid"] == [4]
    scores = records["evaluate"].results
    assert scores["samplesPerSet"] == 16 and scores["fid"] > 0
    assert scores["step"] == 6 and 0.0 <= scores["classAccuracyScore"] <= 1.0
    assert len(scores["classAccuracyPerClass"]) == 10
    assert scores["classAccuracySamplesPerClass"] == 3
    assert 0.0 <= scores["classifierTestAccuracy"] <= 1.0
    # 16 samples over 10 classes: too few per class for an intra-class FID, and it says so.
    assert "intraClassFid" not in scores
    assert "fewer than 50" in scores["intraClassFidNotMeasured"]
    assert any("intra-class FID not measured: set 1: class" in line for line in lines)
    assert any(line.startswith("evaluate: CAS ") for line in lines)
    assert (run_dir / records["evaluate"].directory / CURVES).is_file()
    summary = json.loads((run_dir / pipeline.SUMMARY).read_text())
    assert summary["stages"]["evaluate"]["results"]["fid"] == scores["fid"]
    assert any("train: running" in line for line in lines)


def test_a_second_run_skips_every_finished_stage(s3gan_run):
    experiment, run_dir, records, _ = s3gan_run
    again, lines = _run(experiment, run_dir)
    assert {n: r.key for n, r in again.items()} == {n: r.key for n, r in records.items()}
    assert len(lines) == 4 and all("finished earlier, skipped" in line for line in lines)


def test_a_killed_worker_resumes_from_its_checkpoint_and_ends_where_an_unbroken_run_does(
        s3gan_run, tmp_path):
    experiment, run_dir, records, _ = s3gan_run
    # The same experiment in a fresh run directory holding the finished F and labels.
    killed_dir = tmp_path / "killed"
    for stage in ("pretrain", "labels"):
        shutil.copytree(run_dir / "stages" / stage, killed_dir / "stages" / stage)
    marker = tmp_path / "killed-once"
    again, lines = _run(experiment, killed_dir, fault=KillAtStep(3, str(marker)))
    assert marker.is_file()  # the worker did die at step 3, after the checkpoint of step 2
    assert again["train"].key == records["train"].key
    resumed = _final_generator(killed_dir, again)
    unbroken = _final_generator(run_dir, records)
    assert resumed.keys() == unbroken.keys()
    for name in unbroken:
        torch.testing.assert_close(resumed[name], unbroken[name], rtol=0, atol=0)


def _same_labels_as_the_cli(experiment, run_dir, records):
    """``s3gan pretrain``'s labelling of the train split, given the pipeline's F, is the table
    the labels stage wrote."""
    from s3gan_workers.stages.labels import read_inferred_labels
    from s3gan_workers.stages.pretrain import FEATURE_EXTRACTOR, f_classes

    from s3gan.cli.pretrain_cmd import _label_train_split
    from s3gan.nn.resnet_v2 import ResNetV2

    spec = experiment.spec
    f = ResNetV2.from_spec(spec, f_classes(spec))
    f.load_state_dict(torch.load(run_dir / records["pretrain"].directory / FEATURE_EXTRACTOR,
                                 weights_only=True))
    with torch.inference_mode():
        cli, _ = _label_train_split(spec, f.eval(), "cpu")
    stage = read_inferred_labels(open_location(str(run_dir)), records["labels"].directory)
    assert cli.num_classes == stage.num_classes
    if stage.soft:
        torch.testing.assert_close(cli.table, stage.table)
    else:
        assert torch.equal(cli.table, stage.table)


def test_s3gan_labels_match_the_cli_and_score_c_s2l_on_the_held_out_split(s3gan_run):
    experiment, run_dir, records, _ = s3gan_run
    assert 0.0 <= records["labels"].results["heldOutTop1"] <= 1.0
    _same_labels_as_the_cli(experiment, run_dir, records)


def test_clustering_pipeline_labels_with_k_means(ray_cluster, dataset, tmp_path):
    experiment = tiny_experiment("tiny-clustering", "clustering", str(dataset), steps=2)
    records, lines = _run(experiment, tmp_path / "run")
    assert records["labels"].results["classes"] == 4
    assert 0.0 < records["labels"].results["purity"] <= 1.0
    assert 0.0 < records["labels"].results["matchedAccuracy"] <= 1.0
    assert any("matchedAccuracy" in line for line in lines)
    assert records["evaluate"].results["fid"] > 0
    assert "classAccuracyScore" not in records["evaluate"].results  # G draws clusters
    assert records["evaluate"].results["intraClassFidNotMeasured"] == (
        "G's labels are not the dataset's classes (clustering)")
    _same_labels_as_the_cli(experiment, tmp_path / "run", records)
