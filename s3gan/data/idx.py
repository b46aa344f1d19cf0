"""IDX files (LeCun's MNIST format, also Fashion-MNIST's), gzip-compressed or plain.

Layout: a big-endian magic (two zero bytes, a type code, the number of dimensions), one
big-endian uint32 per dimension, then the values. Only unsigned bytes (type 0x08) occur in
MNIST and Fashion-MNIST, so only they are accepted.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

SPLITS = ("train", "t10k")
_UNSIGNED_BYTE = 0x08


class IdxError(ValueError):
    """A missing or malformed IDX file; the message names the file."""


def idx_paths(root: str | Path, split: str) -> tuple[Path, Path]:
    """The images and labels files of ``split`` under ``root``, with or without ``.gz``."""
    if split not in SPLITS:
        raise IdxError(f"IDX split must be one of {SPLITS}, got {split!r}")
    found = []
    for kind in ("images-idx3", "labels-idx1"):
        stem = Path(root) / f"{split}-{kind}-ubyte"
        candidates = [p for p in (stem.with_name(stem.name + ".gz"), stem) if p.is_file()]
        if not candidates:
            raise IdxError(f"{stem}.gz: no such IDX file (nor {stem.name} uncompressed)")
        found.append(candidates[0])
    return found[0], found[1]


def read_idx_array(path: str | Path) -> np.ndarray:
    """One IDX file as a uint8 array of the shape its header declares."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise IdxError(f"{path}: cannot read ({e})") from e
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise IdxError(f"{path}: not an IDX file (bad magic)")
    if data[2] != _UNSIGNED_BYTE:
        raise IdxError(f"{path}: IDX type 0x{data[2]:02x} is not unsigned byte (0x08)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(f"{path}: truncated header")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64))
    if len(data) - header != expected:
        raise IdxError(
            f"{path}: header declares shape {shape} ({expected} bytes), "
            f"file holds {len(data) - header}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_idx(root: str | Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images uint8 [N, H, W] and labels int64 [N] of an IDX ``split`` ("train" or "t10k")."""
    images_path, labels_path = idx_paths(root, split)
    images = read_idx_array(images_path)
    labels = read_idx_array(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise IdxError(
            f"{images_path} {images.shape} and {labels_path} {labels.shape} "
            "are not N images of H×W with N labels"
        )
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))
