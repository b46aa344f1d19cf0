"""Sweeps: bad grids refused before anything starts; a real 2 × 2 × 2-seed sweep on the
session's local Ray, interrupted (its driver killed) and resumed without redoing finished
trials, sharing one F per label fraction, and reported; a failing trial recorded without
stopping the sweep."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import ray
import ray.cloudpickle
from s3gan_workers import pipeline
from s3gan_workers.run_record import RECORD
from s3gan_workers.sweep import (
    SWEEP_SUMMARY,
    TRIAL_FILE,
    concurrent_trials,
    run_sweep,
    stage_keys,
)
from s3gan_workers.sweep_grid import merged_grid, parse_grid_option, plan_trials, seed_count

from s3gan.cli.main import main as cli_main
from s3gan.data.convert import convert
from s3gan.data.manifest import Settings
from s3gan.data.masks import create_masks
from s3gan.data.storage import open_location
from s3gan.report.build import build_report
from s3gan.spec import SpecError
from s3gan.spec.model import Sweep
from tests.fixtures.datasets import quiet, write_fashion_subset
from tests.workers import pipeline_fixtures, sweep_driver
from tests.workers.pipeline_fixtures import TinyNetwork, tiny_experiment

ray.cloudpickle.register_pickle_by_value(pipeline_fixtures)
REPO = Path(__file__).resolve().parents[2]


def _spec():
    return tiny_experiment("grid", "s3gan", "/nowhere").spec


@pytest.mark.parametrize(("options", "named"), [
    (["temperature=1,2"], "sweep.grid.temperature"),
    (["beta=0.5,-1"], "sweep.grid.beta[1]"),
    (["fraction=0.1,1.5"], "sweep.grid.fraction[1]"),
    (["method=s3gan,no-such-method"], "sweep.grid.method[1]"),
    (["beta="], "sweep.grid.beta"),
])
def test_a_bad_grid_names_the_parameter(options, named):
    spec = _spec()
    with pytest.raises(SpecError) as caught:
        plan_trials(spec, merged_grid(spec, options), 1)
    assert named in str(caught.value)


def test_an_empty_sweep_is_refused():
    with pytest.raises(SpecError, match="sweep is empty"):
        plan_trials(_spec(), {}, 1)


def test_the_cli_refuses_a_bad_grid_before_ray_starts(tmp_path, capsys):
    import yaml

    document = tiny_experiment("grid", "s3gan", "/nowhere").model_dump(
        mode="json", by_alias=True, exclude_none=True)
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(document))
    assert cli_main(["sweep", str(path), "--grid", "gamma=-0.5", "--seeds", "2"]) == 2
    assert "sweep.grid.gamma[0]" in capsys.readouterr().err


def test_the_grid_merges_the_spec_and_the_command_line():
    sweep = Sweep(grid={"beta": (0.5,), "alpha": (0.1, 0.2)}, seeds=3)
    spec = _spec().model_copy(update={"sweep": sweep})
    grid = merged_grid(spec, ["beta=0.25,1", "method=s2gan,s3gan"])
    assert grid == {"beta": (0.25, 1), "alpha": (0.1, 0.2), "method": ("s2gan", "s3gan")}
    assert parse_grid_option("clusters=50,100") == ("clusters", (50, 100))
    trials = plan_trials(spec, grid, seed_count(spec, None))
    assert len(trials) == 2 * 2 * 2 * 3
    assert len({t.name for t in trials}) == len(trials)
    assert {t.spec.seeds.gan for t in trials} == {0, 1, 2}
    assert all(t.spec.sweep is None for t in trials)


def test_trials_are_sized_to_the_cluster():
    spec = _spec()  # 2 workers × 0.9 CPU
    assert concurrent_trials(spec, 2.0) == 1
    one_worker = spec.model_copy(update={"resources": spec.resources.model_copy(
        update={"workers": 1})})
    assert concurrent_trials(one_worker, 2.0) == 2
    assert concurrent_trials(one_worker, 8.0) == 8


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    source = write_fashion_subset(tmp_path_factory.mktemp("idx"), 256, 64)
    dest = tmp_path_factory.mktemp("sweep-data") / "ds"
    convert(str(source), str(dest), Settings(32, 1, "raw", 64), workers=1, report=quiet)
    create_masks(open_location(str(dest)), [0.1, 0.2], seed=0)
    return dest


def _records(run_dir: Path, stage: str) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text())
            for p in (run_dir / "stages" / stage).glob(f"*/{RECORD}")}


def _loopback(address: str) -> str:
    """The session cluster's GCS on 127.0.0.1 (it listens on every interface)."""
    return "127.0.0.1:" + address.rsplit(":", 1)[1]


def _kill_after_first_trial(ray_cluster, dataset, run_dir: Path) -> None:
    """Start the sweep in its own driver process and SIGKILL it once a trial has finished."""
    log = run_dir.parent / "driver.log"
    with log.open("wb") as output:
        driver = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "workers" / "sweep_driver.py"),
             _loopback(ray_cluster.address_info["gcs_address"]), str(dataset), str(run_dir)],
            cwd=REPO, start_new_session=True, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 900
        while not _records(run_dir, "evaluate"):
            ended = driver.poll() is not None
            assert not ended, f"the driver ended first:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "no trial finished within 900 s"
            time.sleep(1)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()


@pytest.fixture(scope="module")
def sweep(ray_cluster, dataset, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("sweeps") / "tiny-sweep"
    _kill_after_first_trial(ray_cluster, dataset, run_dir)
    before = {stage: _records(run_dir, stage) for stage in ("pretrain", "labels", "train",
                                                             "evaluate")}
    experiment = sweep_driver.tiny_sweep_experiment(str(dataset))
    trials = plan_trials(experiment.spec, sweep_driver.GRID, sweep_driver.SEEDS)
    lines: list[str] = []
    outcomes = run_sweep(experiment, open_location(str(run_dir)), trials,
                         feature_network=TinyNetwork(), say=lines.append)
    return run_dir, trials, outcomes, before, lines


@pytest.mark.ray
@pytest.mark.slow
def test_every_trial_of_the_resumed_sweep_finishes(sweep):
    run_dir, trials, outcomes, _, _ = sweep
    assert len(trials) == 8
    assert [o.name for o in outcomes] == [t.name for t in trials]
    assert all(o.state == "terminated" and o.metrics["done"] for o in outcomes)
    summary = json.loads((run_dir / SWEEP_SUMMARY).read_text())
    assert [t["trial"] for t in summary["trials"]] == [t.name for t in trials]
    for trial in trials:
        own = run_dir / trial.directory
        assert json.loads((own / TRIAL_FILE).read_text())["overrides"] == trial.overrides
        stages = json.loads((own / pipeline.SUMMARY).read_text())["stages"]
        # The keys the sweep polls are the keys the pipeline used.
        assert {n: s["key"] for n, s in stages.items()} == stage_keys(trial.spec)
        assert stages["evaluate"]["results"]["fid"] == next(
            o.metrics["fid"] for o in outcomes if o.name == trial.name)


@pytest.mark.ray
@pytest.mark.slow
def test_finished_trials_were_not_redone_after_the_interruption(sweep):
    run_dir, trials, _, before, _ = sweep
    assert before["evaluate"], "the interruption came before any trial finished"
    assert len(before["evaluate"]) < len(trials), "the interruption came after the sweep ended"
    for stage, records in before.items():
        after = _records(run_dir, stage)
        for key, record in records.items():
            assert after[key]["finished"] == record["finished"], f"{stage} {key} was redone"
    assert len(_records(run_dir, "train")) == len(_records(run_dir, "evaluate")) == 8


@pytest.mark.ray
@pytest.mark.slow
def test_one_pretraining_and_one_labelling_per_label_fraction_feed_every_trial(sweep):
    run_dir, trials, _, _, lines = sweep
    pretrained, labelled = _records(run_dir, "pretrain"), _records(run_dir, "labels")
    assert len(pretrained) == len(labelled) == 2  # fractions 0.1 and 0.2
    used = {}
    for trial in trials:
        stages = json.loads((run_dir / trial.directory / pipeline.SUMMARY).read_text())["stages"]
        used.setdefault(stages["pretrain"]["key"], set()).add(trial.name)
        assert stages["labels"]["key"] in labelled
    assert sorted(map(len, used.values())) == [4, 4]  # 2 methods × 2 seeds per fraction
    # The resumed driver's pre-pass found both; nothing shared ran again.
    assert not any("pretrain: running" in line for line in lines)


@pytest.mark.ray
@pytest.mark.slow
def test_a_failing_trial_is_recorded_and_the_sweep_goes_on(ray_cluster, dataset, tmp_path,
                                                           monkeypatch):
    import yaml

    from s3gan.report.collect import read_source
    from s3gan.spec import parse_experiment

    # The dataset as a YAML file next to it names it: relative to where the command runs, not
    # to the directory Tune gives each trial.
    monkeypatch.chdir(dataset.parent)
    experiment = tiny_experiment("tiny-failing", "clustering-ss", dataset.name, steps=2)
    spec = experiment.spec.model_copy(update={
        "resources": experiment.spec.resources.model_copy(update={"workers": 1}),
        "training": experiment.spec.training.model_copy(update={"global_batch": 4})})
    experiment = experiment.model_copy(update={"spec": spec})
    # α = 1e39 overflows float32 in eq. 5: the first step's loss is infinite. Clustering, so
    # the report has k-means clusters to show.
    trials = plan_trials(spec, {"alpha": (0.2, 1e39)}, 1)
    outcomes = run_sweep(experiment, open_location(str(tmp_path / "run")), trials,
                         feature_network=TinyNetwork(), say=lambda line: None)
    states = {o.name: o.state for o in outcomes}
    assert states == {"alpha=0.2,seed=0": "terminated", "alpha=1e+39,seed=0": "error"}
    failed = next(o for o in outcomes if o.state == "error")
    assert "NonFiniteLossError" in failed.error or "non-finite" in failed.error.lower()
    summary = json.loads((tmp_path / "run" / SWEEP_SUMMARY).read_text())
    assert [t["state"] for t in summary["trials"]] == ["terminated", "error"]
    # The report shows the failure, and k-means clusters beside what G draws for them.
    report = build_report(str(tmp_path / "run"), tmp_path / "report")
    assert "NonFiniteLossError" in report.page.read_text()
    clusters = [f for f in report.figures if f.name.startswith("clusters-")]
    assert [f.name for f in clusters] == ["clusters-alpha=0.2_seed=0.png"]
    assert "of 4 clusters" in clusters[0].caption
    # Each trial's directory keeps the experiment it ran, which the report reads back.
    finished = next(t for t in trials if t.name == "alpha=0.2,seed=0")
    own = tmp_path / "run" / finished.directory
    stored = parse_experiment(yaml.safe_load((own / pipeline.EXPERIMENT).read_text()))
    assert stored.metadata.name == "tiny-failing" and stored.spec == finished.spec
    assert json.loads((own / TRIAL_FILE).read_text())["trial"] == finished.name
    reported = {t.name: t for t in read_source(open_location(str(tmp_path / "run"))).trials}
    assert (reported[finished.name].spec, reported[finished.name].state) == (finished.spec,
                                                                            "terminated")


@pytest.mark.ray
@pytest.mark.slow
def test_the_report_renders_the_table_and_every_figure_from_the_sweep(sweep, tmp_path_factory):
    run_dir, trials, outcomes, _, _ = sweep
    out = tmp_path_factory.mktemp("report")
    report = build_report(str(run_dir), out)
    fid = report.tables[0]
    assert fid.header == ("method", "10% labels", "20% labels")
    assert [row[0] for row in fid.rows] == ["s2gan", "s3gan"]
    by_cell = {}
    for o, t in zip(outcomes, trials, strict=True):
        by_cell.setdefault((t.overrides["method"], t.overrides["fraction"]), []).append(
            o.metrics["fid"])
    s3gan_10 = sorted(by_cell["s3gan", 0.1])
    assert fid.rows[1][1] == (f"{sum(s3gan_10) / 2:.2f} ({s3gan_10[0]:.2f}–{s3gan_10[1]:.2f}), "
                              "n=2")  # the median of two seeds is their mean
    cas = report.tables[1]
    assert cas.header == fid.header and [row[0] for row in cas.rows] == ["s2gan", "s3gan"]
    assert all(0.0 <= float(cell.split()[0]) <= 1.0 for row in cas.rows for cell in row[1:])
    # 16 samples per set over 10 classes: too few for an intra-class FID in any trial.
    assert all(cell == "—" for row in report.tables[2].rows for cell in row[1:])
    assert "No trial measured the intra-class FID" in report.tables[2].note
    assert all(cell == "unavailable" for row in report.tables[3].rows for cell in row[1:])
    assert [row[0] for row in report.tables[4].rows] == ["10%", "20%"]
    names = sorted(f.name for f in report.figures)
    assert names.count("curves.png") == 1
    assert sum(n.startswith("samples-") for n in names) == 4  # 2 methods × 2 fractions
    assert sum(n.startswith("interpolation-") for n in names) == 4
    for figure in report.figures:
        assert (out / figure.name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert re.search(r"\d", figure.caption), f"{figure.name} states no sample size"
    page = report.page.read_text()
    assert page.count("data:image/png;base64,") == len(report.figures)
    assert "http://" not in page and "https://" not in page
    assert "tiny-pipeline-1" in page  # the feature network that measured FID is named
    assert (out / "fid.csv").read_text().splitlines()[0] == "method,10% labels,20% labels"
    assert (out / "intra-class-fid.csv").read_text() == report.tables[2].csv()
    assert "| s3gan |" in (out / "tables.md").read_text()


def test_the_driver_exports_trials_by_state_and_each_trial_by_its_label():
    from types import SimpleNamespace

    from prometheus_client import generate_latest
    from s3gan_workers.sweep_exporter import SweepExporter, exporting

    from s3gan.monitor.exporter import Exporter

    exporter = Exporter()
    callback = SweepExporter("tiny", _spec())
    trials = [SimpleNamespace(status=s, config={"trial": f"beta={i}"})
              for i, s in enumerate(("RUNNING", "TERMINATED", "ERROR", "PENDING"))]
    with exporting("tiny", exporter):
        callback.on_trial_result(0, trials, trials[0], {"step": 4, "fid": 12.5,
                                                        "inceptionScore": "unavailable"})
    text = generate_latest(exporter.registry).decode()
    for state in ("pending", "running", "terminated", "error"):
        assert f's3gan_sweep_trials{{experiment="tiny",state="{state}"}} 1.0' in text
    assert 's3gan_fid{experiment="tiny",trial="beta=0",weights="torch-fidelity"} 12.5' in text
    assert "s3gan_inception_score{" not in text  # unavailable is not a number


def test_a_trial_error_is_summarised_by_its_root_cause():
    from s3gan_workers.sweep import error_summary

    wrapped = RuntimeError("\x1b[36mray::ImplicitFunc.train()\x1b[39m (pid=1)\n"
                           "  File \"sweep.py\", line 159, in _run_trial\n    ^^^^^^^^\n"
                           "NonFiniteLossError: d_hinge is inf at step 1\n\n")
    assert error_summary(wrapped) == "NonFiniteLossError: d_hinge is inf at step 1"
    assert error_summary(RuntimeError("")) == "RuntimeError"
