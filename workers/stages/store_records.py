"""The checkpoint store's records kept with the run when the store is node-local scratch.

``retention.json`` (the last known-good and best-FID checkpoints) and ``rollbacks.json`` (the
rollbacks made, counted against ``training.collapse.maxRollbacks``) live beside the
checkpoints. An ``s3://`` run keeps its store on node-local scratch, which a job rescheduled
elsewhere does not see: Ray Train carries the checkpoints to the run's storage, and rank 0
copies these two records into the stage's directory of the run after every checkpoint and
rollback, and back into a fresh scratch store when training resumes.
"""

from __future__ import annotations

from pathlib import Path

from s3gan.data.storage import Location, open_location
from s3gan.train.retention import RECORD as RETENTION
from s3gan.train.rollback import LOG as ROLLBACKS

RECORDS = (RETENTION, ROLLBACKS)


def keep_records(root: Path, run: Location, directory: str) -> None:
    """Copy the store's records at ``root`` to ``directory`` of the run, each whole."""
    for name in RECORDS:
        if (root / name).exists():
            run.write_whole(f"{directory}/{name}", (root / name).read_bytes())


def restore_records(run: Location, directory: str, root: Path) -> None:
    """Put the records kept in ``directory`` of the run into the store at ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    store = open_location(str(root))
    for name in RECORDS:
        if run.exists(f"{directory}/{name}"):
            store.write_whole(name, run.read_bytes(f"{directory}/{name}"))
