"""The report's tables, page and sources on hand-written sweep and run directories (no Ray)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from s3gan.cli.main import main
from s3gan.data.storage import open_location
from s3gan.report.build import build_report
from s3gan.report.collect import ReportSourceError, read_source
from s3gan.report.tables import classifier_table, score_table, spread
from s3gan.spec import parse_experiment


def _spec(method: str, fraction: float, seed: int) -> dict:
    experiment = parse_experiment({
        "apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
        "metadata": {"name": "t"},
        "spec": {"method": method, "labels": {"fraction": fraction}, "seeds": {"gan": seed},
                 "dataset": {"uri": "/nowhere", "resolution": 32, "numClasses": 10}}})
    return experiment.spec.model_dump(mode="json", by_alias=True, exclude_none=True)


def _write(root: Path, path: str, value) -> None:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(json.dumps(value) if not isinstance(value, str) else value)


def _trial(root: Path, method: str, fraction: float, seed: int, fid: float | None) -> None:
    name = f"fraction={fraction},method={method},seed={seed}"
    directory = "trials/" + name.replace(",", "_")
    _write(root, f"{directory}/trial.json", {"trial": name, "spec": _spec(method, fraction, seed),
                                              "overrides": {"method": method,
                                                            "fraction": fraction, "seed": seed}})
    _write(root, f"{directory}/run.json", {"experiment": "t", "method": method,
                                            "stages": _stages(root, method, fraction, seed, fid)})


def _stages(root: Path, method: str, fraction: float, seed: int, fid: float | None) -> dict:
    """The stage summaries of one run, with the training metrics they point at."""
    train = f"stages/train/{method}{fraction}{seed}"
    stages = {
        "pretrain": {"key": f"p{fraction}", "directory": f"stages/pretrain/p{fraction}",
                     "results": {"objective": "s2l", "probeAccuracy": 0.5 + fraction,
                                 "probeImages": 100}},
        "labels": {"key": f"l{fraction}", "directory": f"stages/labels/l{fraction}",
                   "results": {"accuracy": 0.4 + fraction, "heldOutTop1": 0.3 + fraction,
                               "images": 256}},
        "train": {"key": "k", "directory": train, "results": {"steps": 4}},
    }
    _write(root, f"{train}/metrics.jsonl", json.dumps({"step": 2, "kind": "fid", "fid": 300.0,
                                                       "samplesPerSet": 16}) + "\n")
    if fid is not None:
        stages["evaluate"] = {"key": "e", "directory": "stages/evaluate/e", "results": {
            "fid": fid, "inceptionScore": "unavailable", "network": "offline-inception",
            "sets": 1, "samplesPerSet": 16, "classAccuracyScore": 1.0 - fid / 100,
            "classAccuracyStandardError": 0.015, "classAccuracySamplesPerClass": 100,
            "classifierTestAccuracy": 0.912, "intraClassFid": 2 * fid,
            "intraClassFidGeneratedPerClass": [88, 91], "intraClassFidRealPerClass": [95, 105]}}
    return stages


@pytest.fixture
def sweep_dir(tmp_path) -> Path:
    for method, fraction, seed, fid in [("s3gan", 0.1, 0, 10.0), ("s3gan", 0.1, 1, 30.0),
                                        ("s3gan", 0.1, 2, 12.0), ("s2gan", 0.1, 0, 40.0),
                                        ("s3gan", 0.2, 0, 8.0), ("s2gan", 0.2, 0, None)]:
        _trial(tmp_path, method, fraction, seed, fid)
    _write(tmp_path, "sweep.json", {"trials": [{"trial": "fraction=0.2,method=s2gan,seed=0",
                                                "state": "error",
                                                "error": "NonFiniteLossError: d_loss"}]})
    return tmp_path


def test_cells_are_the_median_over_seeds_with_their_spread(sweep_dir):
    source = read_source(open_location(str(sweep_dir)))
    assert source.kind == "sweep" and len(source.trials) == 6
    table = score_table(source.trials, "fid")
    assert table.header == ("method", "10% labels", "20% labels")
    assert table.rows == (("s2gan", "40.00 (n=1)", "—"),
                          ("s3gan", "12.00 (10.00–30.00), n=3", "8.00 (n=1)"))
    assert "offline-inception" in table.note and "1 set(s) of 16" in table.note
    inception = score_table(source.trials, "inceptionScore")
    assert inception.rows[1][1] == "unavailable"
    cas = score_table(source.trials, "classAccuracyScore")
    assert cas.rows == (("s2gan", "0.600 (n=1)", "—"),
                        ("s3gan", "0.880 (0.700–0.900), n=3", "0.920 (n=1)"))
    assert "100 samples per class" in cas.note and "0.912 on held-out real images" in cas.note
    assert "standard error per trial 0.015–0.015" in cas.note
    intra = score_table(source.trials, "intraClassFid")
    assert intra.rows == (("s2gan", "80.00 (n=1)", "—"),
                          ("s3gan", "24.00 (20.00–60.00), n=3", "16.00 (n=1)"))
    assert "≥ 88–88 generated and ≥ 95–95 real images" in intra.note
    assert "compare only at equal counts" in intra.note


def test_a_trial_that_measured_no_cas_shows_a_dash_in_the_cas_table(sweep_dir):
    run = json.loads((sweep_dir / "trials/fraction=0.1_method=s2gan_seed=0/run.json").read_text())
    results = run["stages"]["evaluate"]["results"]
    del results["classAccuracyScore"], results["intraClassFid"]  # G drew clusters
    results["intraClassFidNotMeasured"] = "G's labels are not the dataset's classes (clustering)"
    _write(sweep_dir, "trials/fraction=0.1_method=s2gan_seed=0/run.json", run)
    source = read_source(open_location(str(sweep_dir)))
    assert score_table(source.trials, "classAccuracyScore").rows[0] == ("s2gan", "—", "—")
    assert score_table(source.trials, "intraClassFid").rows[0] == ("s2gan", "—", "—")
    assert score_table(source.trials, "fid").rows[0] == ("s2gan", "40.00 (n=1)", "—")


def test_a_failed_trial_is_shown_as_failed_and_left_out_of_the_table(sweep_dir, tmp_path):
    source = read_source(open_location(str(sweep_dir)))
    failed = [t for t in source.trials if t.state == "error"]
    assert [t.name for t in failed] == ["fraction=0.2,method=s2gan,seed=0"]
    report = build_report(str(sweep_dir), tmp_path / "out")
    page = report.page.read_text()
    assert "NonFiniteLossError" in page


def test_the_label_accuracy_table_has_one_row_per_f(sweep_dir):
    table = classifier_table(read_source(open_location(str(sweep_dir))).trials)
    assert [row[:4] for row in table.rows] == [("10%", "s2l", "40.0%", "50.0%"),
                                               ("20%", "s2l", "50.0%", "60.0%")]


def test_the_page_embeds_every_figure_and_links_nothing_outside(sweep_dir, tmp_path):
    report = build_report(str(sweep_dir), tmp_path / "out")
    page = report.page.read_text()
    assert [f.name for f in report.figures] == ["curves.png"]
    assert page.count("data:image/png;base64,") == 1
    assert "src='http" not in page and "href=" not in page
    assert (tmp_path / "out" / "fid.csv").read_text().startswith("method,10% labels,20% labels")
    assert (tmp_path / "out" / "intra-class-fid.csv").read_text().startswith(
        "method,10% labels,20% labels\ns2gan,80.00 (n=1),—")
    assert "unavailable" in (tmp_path / "out" / "tables.md").read_text()


def test_spread_of_one_and_of_several_values():
    assert spread([]) == "—"
    assert spread([3.0]) == "3.00 (n=1)"
    assert spread([5.0, 1.0, 3.0, 4.0]) == "3.50 (1.00–5.00), n=4"


def test_a_directory_that_is_neither_run_nor_sweep_is_named(tmp_path):
    with pytest.raises(ReportSourceError, match=str(tmp_path)):
        read_source(open_location(str(tmp_path)))


@pytest.fixture
def run_dir(tmp_path) -> Path:
    """A run directory as ``s3gan run`` leaves it: the summary and the experiment beside it."""
    root = tmp_path / "run"
    _write(root, "run.json", {"experiment": "t", "method": "s3gan",
                              "stages": _stages(root, "s3gan", 0.2, 0, 9.0)})
    _write(root, "experiment.yaml", yaml.safe_dump({
        "apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment", "metadata": {"name": "t"},
        "spec": _spec("s3gan", 0.2, 0)}))
    return root


def test_a_run_directory_is_reported_with_its_stored_experiment(run_dir, tmp_path, capsys):
    assert main(["report", str(run_dir), "--out", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.startswith(f"report: {tmp_path / 'out' / 'report.html'}")
    # The label fraction comes from the stored experiment.
    assert (tmp_path / "out" / "fid.csv").read_text().splitlines() == [
        "method,20% labels", "s3gan,9.00 (n=1)"]


def test_an_experiment_given_on_the_command_line_overrides_the_stored_one(run_dir, tmp_path):
    given = tmp_path / "given.yaml"
    given.write_text(yaml.safe_dump({
        "apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment", "metadata": {"name": "t"},
        "spec": _spec("s3gan", 0.05, 0)}))
    assert main(["report", str(run_dir), "--out", str(tmp_path / "out"),
                 "--experiment", str(given)]) == 0
    assert (tmp_path / "out" / "fid.csv").read_text().startswith("method,5% labels\n")


def test_a_broken_stored_experiment_is_named(run_dir, tmp_path, capsys):
    (run_dir / "experiment.yaml").write_text("spec: {method: [")
    assert main(["report", str(run_dir), "--out", str(tmp_path / "out")]) == 2
    assert f"{run_dir / 'experiment.yaml'}: not YAML" in capsys.readouterr().err
    (run_dir / "experiment.yaml").write_text(yaml.safe_dump({"kind": "S3GANExperiment"}))
    assert main(["report", str(run_dir), "--out", str(tmp_path / "out")]) == 2
    assert str(run_dir / "experiment.yaml") in capsys.readouterr().err


def test_the_paper_table_puts_ours_beside_the_paper_and_checks_the_targets(sweep_dir, tmp_path):
    from s3gan.report.paper_table import main as paper_main
    from s3gan.report.paper_table import paper_table

    _trial(sweep_dir, "biggan", 0.1, 0, 9.0)
    table = paper_table(read_source(open_location(str(sweep_dir))).trials)
    rows = {row[0]: row for row in table.rows}
    assert rows["BIGGAN (100%)"][1:3] == ("9.00 (n=1)", "0.910 (n=1)")
    assert rows["S³GAN 10%"][1:] == ("12.00 (10.00–30.00), n=3", "0.880 (0.700–0.900), n=3",
                                     "24.00 (20.00–60.00), n=3", "0.500 (0.500–0.500), n=3",
                                     "4", "8.0")
    assert rows["S³GAN 20%"][1] == "8.00 (n=1)" and rows["S³GAN 2.5%"][1] == "—"
    assert rows["BIGGAN-k 10%"][-1] == "collapsed"
    assert "0.97× BIGGAN's CAS (target ≥ 0.9: met)" in table.note
    assert "1.33× its FID (target ≤ 1.1: not met)" in table.note
    assert paper_main([str(tmp_path / "out"), str(sweep_dir)]) == 0
    assert (tmp_path / "out" / "label-fraction.png").read_bytes()[:4] == b"\x89PNG"
    assert "S³GAN 10%" in (tmp_path / "out" / "paper-table.md").read_text()
