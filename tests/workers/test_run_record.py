"""Stage completion records: committed whole, read back only for their own stage and key, and
only while every output they list is in place."""

from __future__ import annotations

import json

import pytest
from s3gan_workers.run_record import RECORD, RecordError, StageRecord, read_record, write_record

from s3gan.data.storage import open_location


def _record() -> StageRecord:
    return StageRecord("train", "abc", {"labels": "def"}, {"steps": 4}, ("final.pt",), 2.5, 10.0)


def test_a_record_reads_back_as_written(tmp_path):
    run = open_location(str(tmp_path))
    assert read_record(run, "train", "abc") is None
    (tmp_path / "stages/train/abc").mkdir(parents=True)
    (tmp_path / "stages/train/abc/final.pt").write_bytes(b"x")
    write_record(run, _record())
    assert read_record(run, "train", "abc") == _record()
    document = json.loads((tmp_path / "stages/train/abc" / RECORD).read_text())
    assert document["format"] == "s3gan-stage-record/1" and document["outputs"] == ["final.pt"]


def test_a_record_is_refused_when_foreign_broken_or_its_outputs_are_gone(tmp_path):
    run = open_location(str(tmp_path))
    path = tmp_path / "stages/train/abc" / RECORD
    (tmp_path / "stages/train/abc").mkdir(parents=True)
    write_record(run, _record())
    with pytest.raises(RecordError, match=r"abc/record.json: outputs \['final.pt'\] are missing"):
        read_record(run, "train", "abc")
    path.write_text(json.dumps({"format": "s3gan-stage-record/0"}))
    with pytest.raises(RecordError, match="record.json: format 's3gan-stage-record/0'"):
        read_record(run, "train", "abc")
    path.write_text(json.dumps({"format": "s3gan-stage-record/1", "stage": "train"}))
    with pytest.raises(RecordError, match="record.json: not a stage completion record"):
        read_record(run, "train", "abc")
