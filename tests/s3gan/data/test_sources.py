"""Source trees: the layouts the converter reads, and clear errors for the bad ones."""

from __future__ import annotations

import shutil

import pytest

from s3gan.data.sources import SourceError, open_source


def _copy_images(tree, destination, count):
    destination.mkdir(parents=True, exist_ok=True)
    files = sorted((tree / "train").rglob("*.JPEG"))[:count]
    for path in files:
        shutil.copy(path, destination / path.name)
    return [p.name for p in files]


def test_split_folders_with_class_folders(tmp_path, imagenet_tree):
    _copy_images(imagenet_tree, tmp_path / "train" / "cat", 3)
    _copy_images(imagenet_tree, tmp_path / "train" / "dog", 2)
    _copy_images(imagenet_tree, tmp_path / "validation" / "dog", 4)
    source = open_source(tmp_path)
    assert source.classes == ("cat", "dog")
    assert source.labels["train"].tolist() == [0, 0, 0, 1, 1]
    assert source.labels["validation"].tolist() == [1, 1, 1, 1]


def test_kaggle_validation_csv(tmp_path, imagenet_tree):
    _copy_images(imagenet_tree, tmp_path / "train" / "n01", 1)
    _copy_images(imagenet_tree, tmp_path / "train" / "n02", 1)
    names = _copy_images(imagenet_tree, tmp_path / "val", 2)
    (tmp_path / "LOC_val_solution.csv").write_text(
        "ImageId,PredictionString\n"
        f"{names[0].rsplit('.', 1)[0]},n02 1 2 3 4\n{names[1].rsplit('.', 1)[0]},n01 5 6 7 8\n")
    assert open_source(tmp_path).labels["validation"].tolist() == [1, 0]


def test_missing_source(tmp_path):
    with pytest.raises(SourceError, match="nowhere: source folder does not exist"):
        open_source(tmp_path / "nowhere")


def test_empty_class(tmp_path, imagenet_tree):
    _copy_images(imagenet_tree, tmp_path / "full", 2)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="empty: class 'empty' holds no images"):
        open_source(tmp_path)


def test_non_image_file(tmp_path, imagenet_tree):
    _copy_images(imagenet_tree, tmp_path / "shirts", 2)
    (tmp_path / "shirts" / "notes.txt").write_text("not an image")
    (tmp_path / "shirts" / ".DS_Store").write_bytes(b"\0")  # hidden files are ignored
    with pytest.raises(SourceError, match=r"notes.txt: not an image file \(suffix '.txt'\)"):
        open_source(tmp_path)


def test_stray_file_beside_class_folders(tmp_path, imagenet_tree):
    _copy_images(imagenet_tree, tmp_path / "shirts", 2)
    (tmp_path / "README").write_text("about")
    with pytest.raises(SourceError, match="README: not a class folder"):
        open_source(tmp_path)


def test_flat_validation_without_labels(tmp_path, imagenet_tree):
    _copy_images(imagenet_tree, tmp_path / "train" / "n01", 1)
    _copy_images(imagenet_tree, tmp_path / "val", 1)
    with pytest.raises(SourceError, match="needs a labels file"):
        open_source(tmp_path)
    (tmp_path / "val_labels.txt").write_text("somebody-else.JPEG n01\n")
    with pytest.raises(SourceError, match="no label in the validation labels file"):
        open_source(tmp_path)
