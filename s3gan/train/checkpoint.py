"""The checkpoint store: complete training state as directories committed by a manifest.

A checkpoint is ``<root>/step-<NNNNNNNNN>/`` holding one ``<part>.pt`` file per part of the state
(networks, optimisers, RNG streams, progress) and ``manifest.json`` with each file's size and
SHA-256. It is written under a temporary name, the manifest last, then renamed into place: a
directory under the final name with a manifest that verifies is the only proof of a whole
checkpoint. Readers check every file against the manifest before trusting any of it. The store
keeps the newest ``keep`` checkpoints. Ray Train persists these directories to remote storage.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import warnings
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from s3gan.spec.model import Checkpointing

MANIFEST = "manifest.json"
_NAME = re.compile(r"^step-(\d{9})$")
_PARTIAL_PREFIX = ".partial-"


class CheckpointError(RuntimeError):
    """A checkpoint that must not be trusted; the message names the offending file."""


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    step: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_durably(path: Path, write) -> None:
    with path.open("wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def verify(path: Path) -> dict[str, dict]:
    """Check every file of the checkpoint at ``path`` against its manifest; return the manifest's
    file table. Raises :class:`CheckpointError` naming the first bad file."""
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{manifest_path}: missing or unreadable manifest ({e})") from None
    for name, expected in files.items():
        file = path / name
        if not file.is_file():
            raise CheckpointError(f"{file}: listed in the manifest but missing")
        size = file.stat().st_size
        if size != expected["bytes"]:
            raise CheckpointError(
                f"{file}: {size} bytes, the manifest says {expected['bytes']} (truncated?)"
            )
        if _sha256(file) != expected["sha256"]:
            raise CheckpointError(f"{file}: SHA-256 does not match the manifest (corrupted)")
    return files


def load(path: Path) -> dict[str, Any]:
    """The state saved at ``path``, after verifying every file: {part: object}."""
    files = verify(path)
    state = {}
    for name in files:
        try:
            state[name.removesuffix(".pt")] = torch.load(
                path / name, map_location="cpu", weights_only=True
            )
        except Exception as e:  # a verified file that still fails to load is refused too
            raise CheckpointError(f"{path / name}: cannot be loaded ({e})") from e
    return state


class CheckpointStore:
    """Checkpoints of one training run under ``root``; keeps the newest ``keep`` and the steps
    ``protected()`` names (``s3gan.train.retention``: the best-FID and last known-good ones)."""

    def __init__(self, root: Path, keep: int,
                 protected: Callable[[], Collection[int]] = frozenset):
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self.root = Path(root)
        self.keep = keep
        self.protected = protected

    def save(self, step: int, state: dict[str, Any]) -> Checkpoint:
        """Write ``state`` ({part name: torch-serialisable object}) as checkpoint ``step``."""
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / f"step-{step:09d}"
        partial = self.root / f"{_PARTIAL_PREFIX}{final.name}-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        files = {}
        for part, value in state.items():
            file = partial / f"{part}.pt"
            _write_durably(file, lambda f, v=value: torch.save(v, f))
            files[file.name] = {"bytes": file.stat().st_size, "sha256": _sha256(file)}
        manifest = {"step": step, "created": time.time(), "files": files}
        _write_durably(partial / MANIFEST, lambda f: f.write(json.dumps(manifest).encode()))
        _fsync_dir(partial)
        if final.exists():
            shutil.rmtree(final)
        partial.rename(final)
        _fsync_dir(self.root)
        self._prune()
        return Checkpoint(final, step)

    def checkpoints(self) -> list[Checkpoint]:
        """Committed checkpoints, oldest first (not yet verified)."""
        if not self.root.is_dir():
            return []
        found = []
        for entry in self.root.iterdir():
            match = _NAME.match(entry.name)
            if match and entry.is_dir():
                found.append(Checkpoint(entry, int(match.group(1))))
        return sorted(found, key=lambda c: c.step)

    def latest(self) -> Checkpoint | None:
        """The newest checkpoint that verifies; damaged newer ones are skipped with a warning."""
        for checkpoint in reversed(self.checkpoints()):
            try:
                verify(checkpoint.path)
            except CheckpointError as e:
                warnings.warn(f"skipping damaged checkpoint: {e}", stacklevel=2)
                continue
            return checkpoint
        return None

    def _prune(self) -> None:
        protected = self.protected()
        for old in self.checkpoints()[: -self.keep]:
            if old.step not in protected:
                shutil.rmtree(old.path)
        for entry in self.root.glob(f"{_PARTIAL_PREFIX}*"):
            if not entry.name.endswith(f"-{os.getpid()}"):
                shutil.rmtree(entry, ignore_errors=True)


class CheckpointSchedule:
    """When to save: every ``everySteps`` G steps or ``everyMinutes`` of wall time."""

    def __init__(self, config: Checkpointing, clock=time.monotonic):
        self.config = config
        self.clock = clock
        self.last = clock()

    def due(self, step: int) -> bool:
        elapsed_minutes = (self.clock() - self.last) / 60
        return step % self.config.every_steps == 0 or elapsed_minutes >= self.config.every_minutes

    def saved(self) -> None:
        self.last = self.clock()
