"""Stage keys and completion records: how a run knows what is already done.

A stage's outputs live under ``stages/<stage>/<key>/`` of the run directory, where the key hashes
exactly what the stage depends on (the spec sections it reads and the keys of the stages it
reads from), so two runs, or two trials of a sweep, that need the same artefact find it under
the same key. ``record.json`` in that directory is written last, whole or not at all
(``s3gan.data.documents.write_json``): it is the only proof that the stage finished, and it
carries the stage's results (probe accuracy, label quality, FID) for the run's report.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel

from s3gan.data.documents import parse_versioned, write_json
from s3gan.data.storage import Location, StorageNotFound

RECORD = "record.json"
FORMAT = "s3gan-stage-record/1"
KEY_LENGTH = 16  # hex digits of SHA-256: collisions are out of reach for a run's few stages


class RecordError(ValueError):
    """A completion record that cannot be trusted; the message names the file."""


def _canonical(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def stage_key(stage: str, depends_on: dict[str, Any]) -> str:
    """The key of ``stage`` given what it depends on: spec sections (pydantic models), plain
    JSON values, and the keys of its input stages."""
    text = json.dumps({"stage": stage, "dependsOn": _canonical(depends_on)}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_LENGTH]


def stage_dir(stage: str, key: str) -> str:
    """Where the stage's artefacts go, relative to the run directory."""
    return f"stages/{stage}/{key}"


@dataclass(frozen=True)
class StageRecord:
    stage: str
    key: str
    inputs: dict[str, str]  # input stage → its key
    results: dict[str, Any]  # JSON scalars and lists the stage reports
    outputs: tuple[str, ...]  # artefact files, relative to the stage directory
    seconds: float
    finished: float = field(default_factory=time.time)

    @property
    def directory(self) -> str:
        return stage_dir(self.stage, self.key)

    @classmethod
    def from_json(cls, data: bytes, where: str) -> StageRecord:
        d = parse_versioned(data, where, FORMAT, "stage completion record", RecordError)
        try:
            return cls(stage=d["stage"], key=d["key"], inputs=dict(d["inputs"]),
                       results=dict(d["results"]), outputs=tuple(d["outputs"]),
                       seconds=float(d["seconds"]), finished=float(d["finished"]))
        except (KeyError, TypeError, ValueError) as e:
            raise RecordError(f"{where}: not a stage completion record ({e!r})") from e


def read_record(run: Location, stage: str, key: str) -> StageRecord | None:
    """The completion record of ``stage`` under ``key``, or None if the stage has not finished
    there. A record for another stage or key is refused."""
    path = f"{stage_dir(stage, key)}/{RECORD}"
    try:
        data = run.read_bytes(path)
    except StorageNotFound:
        return None
    record = StageRecord.from_json(data, run.url(path))
    if (record.stage, record.key) != (stage, key):
        raise RecordError(f"{run.url(path)}: records stage {record.stage!r} key {record.key!r}")
    missing = [name for name in record.outputs
               if not run.exists(f"{record.directory}/{name}")]
    if missing:
        raise RecordError(f"{run.url(path)}: outputs {missing} are missing from "
                          f"{run.url(record.directory)}")
    return record


def write_record(run: Location, record: StageRecord) -> None:
    """Commit the stage: every output must already be in place."""
    write_json(run, f"{record.directory}/{RECORD}", {"format": FORMAT, **asdict(record)})
