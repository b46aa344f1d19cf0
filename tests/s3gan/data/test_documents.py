"""Whole-written JSON documents: what is written reads back, and a foreign, older or broken file
is refused with its name."""

from __future__ import annotations

import json

import pytest

from s3gan.data.documents import parse_versioned, write_json
from s3gan.data.storage import open_location


class DocumentError(ValueError):
    pass


def _parse(data: bytes):
    return parse_versioned(data, "where.json", "kind/1", "kind document", DocumentError)


def test_a_written_document_reads_back_sorted_and_leaves_no_temporary(tmp_path):
    write_json(open_location(str(tmp_path)), "a/doc.json", {"format": "kind/1", "b": 1, "a": [2]})
    text = (tmp_path / "a" / "doc.json").read_text()
    assert text.index('"a"') < text.index('"b"') < text.index('"format"')
    assert _parse(text.encode()) == {"format": "kind/1", "a": [2], "b": 1}
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["doc.json"]


@pytest.mark.parametrize(("data", "message"), [
    (b'{"format": "kind/2"}', "where.json: format 'kind/2', expected 'kind/1'"),
    (b'{"other": 1}', "where.json: format None, expected 'kind/1'"),
    (b'["kind/1"]', "where.json: format 'list', expected 'kind/1'"),
    (b'{"format": "kind/1"', "where.json: not a kind document"),
    (b"\xff\xfe", "where.json: not a kind document"),
])
def test_anything_but_the_expected_format_is_refused_by_name(data, message):
    with pytest.raises(DocumentError, match=message.replace("[", r"\[")):
        _parse(data)


def test_the_manifest_and_its_errors_go_through_the_same_reader(tmp_path):
    from s3gan.data.manifest import Manifest, ManifestError, Settings, read_manifest, write_manifest

    location = open_location(str(tmp_path))
    manifest = Manifest("src", "fp", Settings(32, 3, "raw", 64), ("a", "b"), {"train": 0},
                        {"train": (0, 0)}, ())
    write_manifest(location, manifest)
    assert read_manifest(location) == manifest
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "s3gan-dataset/1"}))
    with pytest.raises(ManifestError, match="manifest.json: not a valid dataset manifest"):
        read_manifest(location)
