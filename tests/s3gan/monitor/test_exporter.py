"""The exporter serves exactly the catalogue, scraped over HTTP and read with Prometheus' parser."""

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from s3gan.monitor.catalogue import CATALOGUE, SERIES
from s3gan.monitor.exporter import Exporter, MetricError

RUN = {"experiment": "demo", "trial": ""}


@pytest.fixture
def exporter():
    exporter = Exporter()
    yield exporter
    exporter.stop()


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_values_reach_a_scrape(exporter):
    port = exporter.start(0)
    exporter.set("s3gan_fid", 12.5, weights="offline", **RUN)
    exporter.inc("s3gan_training_images_total", 256, **RUN)
    exporter.inc("s3gan_training_images_total", 256, **RUN)
    exporter.observe("s3gan_step_duration_seconds", 0.3, **RUN)
    exporter.set("s3gan_operator_experiments", 2, phase="Running")
    samples = scrape(port)
    run = tuple(sorted(RUN.items()))
    assert samples[("s3gan_fid", tuple(sorted({**RUN, "weights": "offline"}.items())))] == 12.5
    assert samples[("s3gan_training_images_total", run)] == 512
    bucket = "s3gan_step_duration_seconds_bucket"
    assert samples[(bucket, tuple(sorted({**RUN, "le": "0.25"}.items())))] == 0
    assert samples[(bucket, tuple(sorted({**RUN, "le": "0.5"}.items())))] == 1
    assert samples[("s3gan_step_duration_seconds_sum", run)] == pytest.approx(0.3)
    assert samples[("s3gan_operator_experiments", (("phase", "Running"),))] == 2
    # Only catalogued series, besides the creation timestamps prometheus-client adds.
    names = {name for name, _ in samples if not name.endswith("_created")}
    assert names <= SERIES
    assert "s3gan_fid" in names


def test_updates_outside_the_catalogue_are_refused(exporter):
    port = exporter.start(0)
    with pytest.raises(MetricError, match="'s3gan_made_up' is not in"):
        exporter.set("s3gan_made_up", 1.0, **RUN)
    with pytest.raises(MetricError, match=r"takes labels \['experiment', 'trial', 'weights'\]"):
        exporter.set("s3gan_fid", 1.0, **RUN)
    with pytest.raises(MetricError, match="takes labels"):
        exporter.set("s3gan_training_step", 1.0, gpu="0", **RUN)
    with pytest.raises(MetricError, match="is a counter, not a gauge"):
        exporter.set("s3gan_rollbacks_total", 1.0, **RUN)
    with pytest.raises(MetricError, match="is a gauge, not a histogram"):
        exporter.observe("s3gan_fid", 1.0, weights="offline", **RUN)
    assert scrape(port) == {}


def test_every_catalogue_entry_is_registered_with_its_type():
    first, second = Exporter(), Exporter()  # own registries: no clash between two exporters
    families = {f.name: f for f in second.registry.collect()}
    for metric in CATALOGUE:
        family = families[metric.name.removesuffix("_total")]
        assert family.type == metric.type
        assert family.documentation == metric.help
    assert len(families) == len(CATALOGUE)
    assert first.registry is not second.registry


def test_one_server_per_exporter(exporter):
    port = exporter.start(0)
    with pytest.raises(RuntimeError, match=f"already serving on port {port}"):
        exporter.start(0)
    exporter.stop()
    with pytest.raises(OSError):
        scrape(port)
