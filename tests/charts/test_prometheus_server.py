"""The chart's alerts in a real Prometheus server: it scrapes the exporter of a short local
training run (a tiny BigGAN trained for real steps, its collapse guard and evaluation scores
published as the train and evaluate stages publish them, the Classification Accuracy Score
included), evaluates the rendered alert rules, and fires S3GANTrainingCollapse once the run's
FID jumps. Server and exporter listen on 127.0.0.1 on free ports; the server is stopped by PID."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
import torch
import yaml
from s3gan_workers.stages import evaluate

from s3gan.eval.class_accuracy import EvaluationClassifier, TrainedClassifier, class_accuracy_score
from s3gan.eval.evaluate import Scores
from s3gan.methods import build_method
from s3gan.monitor.exporter import Exporter
from s3gan.nn.ranges import to_uint8
from s3gan.spec import parse_experiment
from s3gan.train.checkpoint import CheckpointStore
from s3gan.train.retention import Retention
from s3gan.train.rollback import CollapseGuard
from s3gan.train.trainer import Trainer
from tests.charts.rendering import alert_groups, render
from tests.fixtures.s3server import free_port
from tests.fixtures.trained_run import EXPERIMENT, random_batches
from tests.tools import prometheus

RUN = {"experiment": "tiny-run", "trial": ""}
DEADLINE_SECONDS = 40


def _get(port: int, path: str, **query: str) -> dict:
    url = f"http://127.0.0.1:{port}{path}" + (f"?{urllib.parse.urlencode(query)}"
                                              if query else "")
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)["data"]


def _wait(what: str, check, deadline: float):
    while time.monotonic() < deadline:
        try:
            found = check()
        except OSError:  # the server is still starting
            found = None
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"Prometheus did not show {what} within {DEADLINE_SECONDS} s")


@pytest.fixture
def server(tmp_path):
    """(Prometheus' port, the exporter) with the chart's default rules loaded."""
    binary = prometheus()
    exporter = Exporter()
    metrics_port = exporter.start(0)  # 127.0.0.1 by default
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(alert_groups(render("default"))))
    config = tmp_path / "prometheus.yaml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [{"job_name": "s3gan-run",
                            "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}]}))
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [str(binary), f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
         f"--storage.tsdb.path={tmp_path / 'data'}", "--storage.tsdb.retention.time=1h"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        yield port, exporter
    finally:
        process.terminate()  # by PID: this process only
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        exporter.stop()


def test_the_server_scrapes_a_run_and_fires_the_collapse_alert(server, tmp_path):
    port, exporter = server
    deadline = time.monotonic() + DEADLINE_SECONDS
    torch.set_num_threads(1)
    spec = parse_experiment(EXPERIMENT).spec
    trainer = Trainer(spec, build_method(spec), random_batches(), "cpu")
    store = CheckpointStore(tmp_path / "checkpoints", keep=2)
    guard = CollapseGuard(trainer, store, Retention(store.root), exporter=exporter,
                          run_labels=RUN)
    for _ in range(3):  # real G steps, published as the train stage's chief publishes them
        terms = trainer.train_step()
        exporter.set("s3gan_training_step", trainer.step, **RUN)
        exporter.set("s3gan_last_step_timestamp_seconds", time.time(), **RUN)
        for term, value in terms.items():
            exporter.set("s3gan_loss", value, term=term, **RUN)
        assert guard.after_step(terms) is None
    generator = trainer.evaluation_generator()

    def generate(labels: torch.Tensor) -> torch.Tensor:
        z = torch.randn(labels.numel(), spec.model.z_dim)
        return to_uint8(generator(z, labels), spec.model.output_range)

    classifier = TrainedClassifier(EvaluationClassifier(3).eval(), 0.5)
    cas = class_accuracy_score(classifier, generate, range(3), 4, classifier.test_accuracy)
    evaluate.export_scores(exporter, spec, RUN, Scores("tiny", 16, (120.0,), None), cas)
    assert guard.after_evaluation(trainer.step, 120.0) is None

    up = _wait("the run's CAS", lambda: _get(port, "/api/v1/query",
                                              query="s3gan_class_accuracy_score_ratio")["result"],
               deadline)
    assert float(up[0]["value"][1]) == pytest.approx(cas.score)
    assert up[0]["metric"]["experiment"] == "tiny-run"
    loss = _get(port, "/api/v1/query", query='s3gan_loss{term="d_hinge"}')["result"]
    assert loss and float(loss[0]["value"][1]) == pytest.approx(terms["d_hinge"])
    assert not [a for a in _get(port, "/api/v1/alerts")["alerts"]
                if a["labels"]["alertname"] == "S3GANTrainingCollapse"]

    # Force a collapse: the FID of the next evaluation jumps far above the best so far.
    detection = guard.after_evaluation(trainer.step, 480.0)
    assert detection is not None and "fid_jump" in detection.reasons

    def collapse_firing():
        return [a for a in _get(port, "/api/v1/alerts")["alerts"]
                if a["labels"]["alertname"] == "S3GANTrainingCollapse"
                and a["state"] == "firing"]

    firing = _wait("S3GANTrainingCollapse firing", collapse_firing, deadline)
    assert firing[0]["labels"]["experiment"] == "tiny-run"
    assert firing[0]["labels"]["severity"] == "critical"
    assert "collapsed" in firing[0]["annotations"]["summary"]
