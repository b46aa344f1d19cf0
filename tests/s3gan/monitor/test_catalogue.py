"""The metric catalogue follows Prometheus naming conventions with bounded labels."""

import re

from s3gan.monitor.catalogue import CATALOGUE, LABELS, SERIES

UNITS = ("_seconds", "_bytes", "_ratio", "_total", "_timestamp_seconds")


def test_names_follow_prometheus_conventions():
    names = [m.name for m in CATALOGUE]
    assert len(names) == len(set(names))
    for m in CATALOGUE:
        assert re.fullmatch(r"s3gan_[a-z0-9_]+", m.name), m.name
        assert m.help and not m.help.endswith(".")
        assert (m.type == "counter") == m.name.endswith("_total"), m.name
        assert (m.type == "histogram") == bool(m.buckets), m.name
        if "duration" in m.name or "timestamp" in m.name:
            assert m.name.endswith("_seconds"), m.name
        if "accuracy" in m.name:
            assert m.name.endswith("_ratio"), m.name


def test_every_label_is_declared_with_its_bound():
    for m in CATALOGUE:
        for label in m.labels:
            assert label in LABELS, (m.name, label)


def test_histograms_expose_bucket_sum_count():
    assert "s3gan_step_duration_seconds_bucket" in SERIES
    assert "s3gan_step_duration_seconds" not in SERIES
    assert "s3gan_fid" in SERIES
