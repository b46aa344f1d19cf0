"""What ``s3gan data convert`` reads: IDX files, class-folder trees and ImageNet's layout.

Every source lists its images per split in a fixed order (sorted names). ``s3gan data
convert`` stores them in ``Source.in_stable_order()``: a fixed pseudo-random permutation of
that listing, a pure function of the split's name and size. An image's position in it is its
stable index, the same on every run and every machine. Class folders list class by class; the
permutation spreads every class over every shard, so a reader holding a few shards at a time
still draws class-mixed batches (docs/data.md, "Class mix").

- IDX (MNIST, Fashion-MNIST): ``train-*`` → split "train", ``t10k-*`` → "validation".
- A class-folder tree: ``SOURCE/<class>/<image>``, all in "train"; or with split folders
  ``SOURCE/train/<class>/…`` and ``SOURCE/val|validation/<class>/…``.
- ImageNet: ``SOURCE/train/<wnid>/*.JPEG`` and a flat ``SOURCE/val/`` whose labels come from
  a file: ``<file name> <wnid>`` per line, or Kaggle's ``LOC_val_solution.csv``.
Names starting with a dot are ignored (``.DS_Store``); any other non-image file is an error.
"""

from __future__ import annotations

import csv
import hashlib
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from s3gan.data.idx import idx_paths, read_idx_array

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm"}
VALIDATION_DIRS = ("validation", "val")
VALIDATION_LABEL_FILES = ("val_labels.txt", "LOC_val_solution.csv")


class SourceError(ValueError):
    """The source tree cannot be converted; the message names the file or folder."""


@dataclass(frozen=True)
class Source:
    """Images per split: a file path, or a uint8 [H, W] array for IDX; labels as class ids."""

    kind: str
    root: str
    classes: tuple[str, ...]
    payloads: dict[str, list]  # split → per-image path (str) or ndarray, in index order
    labels: dict[str, np.ndarray]  # split → int64 [N]

    def in_stable_order(self) -> Source:
        """Each split's images in stable-index order (see the module docstring)."""
        order = {s: listing_positions(s, len(p)) for s, p in self.payloads.items()}
        return replace(self, payloads={s: [p[i] for i in order[s]]
                                       for s, p in self.payloads.items()},
                       labels={s: y[order[s]] for s, y in self.labels.items()})

    def head(self, limit: int) -> Source:
        """The first ``limit`` images of each split (in stable order: a seeded random subset,
        for quick runs)."""
        if limit < 1:
            raise SourceError(f"limit must be at least 1, got {limit}")
        return replace(self, payloads={s: p[:limit] for s, p in self.payloads.items()},
                       labels={s: y[:limit] for s, y in self.labels.items()})

    def fingerprint(self) -> str:
        """Identifies what was listed, so a DEST holding another dataset is recognised."""
        digest = hashlib.sha256(f"{self.kind}\n{'|'.join(self.classes)}\n".encode())
        for split in sorted(self.payloads):
            digest.update(f"{split}:{len(self.payloads[split])}\n".encode())
            digest.update(self.labels[split].tobytes())
            if self.kind != "idx":
                root = Path(self.root)
                digest.update("\n".join(str(Path(p).relative_to(root))
                                        for p in self.payloads[split]).encode())
        return digest.hexdigest()


def listing_positions(split: str, images: int) -> np.ndarray:
    """int64 [images]: the listing position of the image with stable index i, at row i."""
    return np.random.default_rng([zlib.crc32(split.encode()), images]).permutation(images)


def open_source(root: str | Path, validation_labels: str | Path | None = None) -> Source:
    root = Path(root)
    if not root.is_dir():
        raise SourceError(f"{root}: source folder does not exist")
    if any(root.glob("train-images-idx3-ubyte*")):
        return _idx_source(root)
    return _folder_source(root, validation_labels)


def _idx_source(root: Path) -> Source:
    payloads, labels = {}, {}
    for idx_split, split in (("train", "train"), ("t10k", "validation")):
        if idx_split == "t10k" and not any(root.glob("t10k-images-idx3-ubyte*")):
            continue
        images_path, labels_path = idx_paths(root, idx_split)
        images, split_labels = read_idx_array(images_path), read_idx_array(labels_path)
        if len(images) != len(split_labels):
            raise SourceError(f"{images_path}: {len(images)} images but {len(split_labels)} labels")
        payloads[split] = list(images)
        labels[split] = split_labels.astype(np.int64)
    num_classes = int(max(labels[s].max() for s in labels)) + 1
    return Source("idx", str(root), tuple(str(c) for c in range(num_classes)), payloads, labels)


def _folder_source(root: Path, validation_labels) -> Source:
    train_root = root / "train" if (root / "train").is_dir() else root
    classes = tuple(sorted(d.name for d in _visible(train_root) if d.is_dir()))
    if not classes:
        raise SourceError(f"{train_root}: no class folders (expected <class>/<image> files)")
    stray = [p for p in _visible(train_root) if not p.is_dir()]
    if stray:
        raise SourceError(f"{stray[0]}: not a class folder (only folders belong in {train_root})")
    payloads = {"train": [], "validation": []}
    labels = {"train": [], "validation": []}
    for label, name in enumerate(classes):
        images = _images_in(train_root / name)
        if not images:
            raise SourceError(f"{train_root / name}: class {name!r} holds no images")
        payloads["train"] += images
        labels["train"] += [label] * len(images)
    validation_root = next(
        (root / d for d in VALIDATION_DIRS if train_root != root and (root / d).is_dir()), None
    )
    if validation_root is not None:
        if any(p.is_dir() for p in _visible(validation_root)):
            for label, name in enumerate(classes):
                folder = validation_root / name
                images = _images_in(folder) if folder.is_dir() else []
                payloads["validation"] += images
                labels["validation"] += [label] * len(images)
        else:
            wnids = _read_validation_labels(root, validation_labels)
            index = {name: label for label, name in enumerate(classes)}
            for path in _images_in(validation_root):
                wnid = wnids.get(path.stem) or wnids.get(path.name)
                if wnid is None:
                    raise SourceError(f"{path}: no label in the validation labels file")
                if wnid not in index:
                    raise SourceError(f"{path}: label {wnid!r} is not a class of {train_root}")
                payloads["validation"].append(path)
                labels["validation"].append(index[wnid])
    return Source(
        "folders",
        str(root),
        classes,
        {s: [str(p) for p in v] for s, v in payloads.items() if v},
        {s: np.asarray(v, dtype=np.int64) for s, v in labels.items() if v},
    )


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _images_in(folder: Path) -> list[Path]:
    files = []
    for path in _visible(folder):
        if path.is_dir():
            raise SourceError(f"{path}: nested folder inside a class folder")
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise SourceError(f"{path}: not an image file (suffix {path.suffix or 'none'!r})")
        files.append(path)
    return files


def _read_validation_labels(root: Path, given) -> dict[str, str]:
    """File name (with or without suffix) → class folder name."""
    candidates = [Path(given)] if given else [root / n for n in VALIDATION_LABEL_FILES]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise SourceError(
            f"{root}: a flat validation folder needs a labels file "
            f"({' or '.join(str(c) for c in candidates)})"
        )
    with open(path, newline="") as f:
        if path.suffix == ".csv":  # Kaggle: ImageId,PredictionString="<wnid> x y x y ..."
            return {row["ImageId"]: row["PredictionString"].split()[0] for row in csv.DictReader(f)}
        pairs = [line.replace(",", " ").split() for line in f if line.strip()]
    bad = next((p for p in pairs if len(p) != 2), None)
    if bad:
        raise SourceError(f"{path}: expected '<file name> <class>' per line, got {' '.join(bad)!r}")
    return dict(pairs)
