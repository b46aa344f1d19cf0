"""Datasets on a real S3 server (Swift + s3api): the same shards as locally, read back by the
training reader; bad credentials and unreachable endpoints fail fast and clearly."""

from __future__ import annotations

import itertools
import json
import time

import pytest
import torch

from s3gan.data.convert import convert
from s3gan.data.manifest import Settings, read_manifest
from s3gan.data.masks import create_masks
from s3gan.data.reader import TrainingReader
from s3gan.data.storage import StorageError, open_location
from s3gan.spec.model import Storage
from tests.fixtures.datasets import quiet

pytestmark = pytest.mark.s3


@pytest.fixture(scope="module")
def bucket(s3_server):
    return s3_server.create_bucket("datasets")


def test_conversion_to_s3_writes_the_local_shards(s3_server, bucket, fashion_subset,
                                                  subset_dataset):
    storage = Storage(endpoint=s3_server.endpoint)
    uri = f"s3://{bucket}/fashion-subset"
    manifest = convert(str(fashion_subset), uri, Settings(32, 3, "raw", 64), storage,
                       workers=2, report=quiet)
    local = read_manifest(open_location(str(subset_dataset)))
    assert [s.sha256 for s in manifest.shards] == [s.sha256 for s in local.shards]
    assert manifest.counts == {"train": 500, "validation": 100}
    keys = {o["Key"] for o in s3_server.client().list_objects_v2(
        Bucket=bucket, Prefix="fashion-subset/")["Contents"]}
    assert "fashion-subset/manifest.json" in keys
    assert json.loads(s3_server.client().get_object(
        Bucket=bucket, Key="fashion-subset/manifest.json")["Body"].read())["counts"] == {
        "train": 500, "validation": 100}

    location = open_location(uri, storage)
    (mask,) = create_masks(location, [0.1], seed=0)
    assert mask.images == sum(round(0.1 * n) or 1 for n in manifest.per_class["train"])
    remote = TrainingReader(uri, "train", 25, seed=5, mask=(0.1, 0), storage=storage)
    create_masks(open_location(str(subset_dataset)), [0.1], seed=0)
    here = TrainingReader(str(subset_dataset), "train", 25, seed=5, mask=(0.1, 0))
    for a, b in itertools.islice(zip(remote, here, strict=True), 5):
        assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)


@pytest.mark.slow
def test_full_fashion_mnist_on_s3(s3_server, bucket):
    storage = Storage(endpoint=s3_server.endpoint)
    manifest = convert("/usr/share/datasets/fashion-mnist", f"s3://{bucket}/fashion-mnist",
                       Settings(32, 1, "raw", 4096), storage, report=quiet)
    assert manifest.counts == {"train": 60_000, "validation": 10_000}
    assert manifest.per_class["train"] == (6_000,) * 10


def test_wrong_credentials_fail_fast_with_a_clear_error(s3_server, bucket, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    started = time.monotonic()
    with pytest.raises(StorageError, match="access denied|AccessDenied|SignatureDoesNotMatch"):
        read_manifest(open_location(f"s3://{bucket}/fashion-subset",
                                    Storage(endpoint=s3_server.endpoint)))
    assert time.monotonic() - started < 10


def test_unreachable_endpoint_fails_fast_with_a_clear_error():
    from tests.fixtures.s3server import free_port

    started = time.monotonic()
    location = open_location("s3://datasets/x", Storage(endpoint=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(StorageError, match="s3://datasets/x/manifest.json: endpoint unreachable"):
        location.read_bytes("manifest.json")
    assert time.monotonic() - started < 10


def test_missing_dataset_on_s3_is_named(s3_server, bucket):
    from s3gan.data.manifest import ManifestError

    with pytest.raises(ManifestError, match=f"s3://{bucket}/nothing-here/manifest.json: no manif"):
        read_manifest(open_location(f"s3://{bucket}/nothing-here",
                                    Storage(endpoint=s3_server.endpoint)))
