"""What the pipeline tells the experiment's status, and where its metrics are served in a pod."""

from __future__ import annotations

import argparse

from s3gan_workers.pipeline import final_progress
from s3gan_workers.run_record import StageRecord

from s3gan.cli.run_cmd import add_run_arguments


def _record(name: str, results: dict) -> StageRecord:
    return StageRecord(name, "k", {}, results, {}, 1.0)


def test_the_final_status_carries_steps_fid_cas_intra_fid_and_only_measured_scores():
    records = {"train": _record("train", {"steps": 600}),
               "evaluate": _record("evaluate", {"fid": 41.5, "inceptionScore": "unavailable"})}
    progress = final_progress(records)
    assert (progress.stage, progress.step, progress.fid) == ("done", 600, 41.5)
    assert progress.inception_score is None
    assert progress.class_accuracy_score is None and "classAccuracyScore" not in (
        progress.as_status())
    assert "intraClassFid" not in progress.as_status()
    records["evaluate"] = _record("evaluate", {"fid": 9.0, "inceptionScore": 70.25,
                                               "classAccuracyScore": 0.75,
                                               "intraClassFid": 131.5})
    assert final_progress(records).inception_score == 70.25
    assert final_progress(records).as_status()["classAccuracyScore"] == 0.75
    assert final_progress(records).as_status()["intraClassFid"] == 131.5


def test_the_metrics_port_defaults_to_the_pods_environment(monkeypatch):
    def parsed() -> argparse.Namespace:
        parser = argparse.ArgumentParser()
        add_run_arguments(parser)
        return parser.parse_args([])

    monkeypatch.delenv("S3GAN_METRICS_PORT", raising=False)
    assert parsed().metrics_port is None
    monkeypatch.setenv("S3GAN_METRICS_PORT", "9100")
    assert parsed().metrics_port == 9100
