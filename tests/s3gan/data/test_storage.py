"""The filesystem layer: whole-or-nothing writes, clear errors for bad URIs and endpoints."""

from __future__ import annotations

import os

import pytest

from s3gan.data.storage import StorageError, open_location
from s3gan.spec.model import Storage


def test_local_write_is_whole_and_leaves_no_temporary(tmp_path):
    location = open_location(str(tmp_path / "ds"))
    assert location.is_empty()
    location.write_whole("shards/a.parquet", b"x" * 1000)
    location.write_whole("shards/a.parquet", b"y" * 10)
    assert location.read_bytes("shards/a.parquet") == b"y" * 10
    assert os.listdir(tmp_path / "ds" / "shards") == ["a.parquet"]
    assert location.list_files("shards") == ["a.parquet"] and location.list_files("none") == []


def test_missing_file_is_named(tmp_path):
    with pytest.raises(StorageError, match=r"ds/manifest.json: not found"):
        open_location(str(tmp_path / "ds")).read_bytes("manifest.json")


def test_bad_uris_and_endpoints():
    with pytest.raises(StorageError, match="unsupported scheme 'gs'"):
        open_location("gs://bucket/x")
    with pytest.raises(StorageError, match="needs a bucket"):
        open_location("s3:///x")
    with pytest.raises(StorageError, match="storage.endpoint"):
        open_location("s3://bucket/x", Storage(endpoint="127.0.0.1:9000"))
