"""`s3gan data`: convert, labels and verify from the command line; errors exit 1, named."""

from __future__ import annotations

from s3gan.cli.main import main
from tests.fixtures.datasets import write_fashion_subset


def test_convert_labels_verify(tmp_path, capsys):
    source = write_fashion_subset(tmp_path / "idx", 200, 20)
    dest = tmp_path / "ds"
    assert main(["data", "convert", str(source), str(dest), "--resolution", "32",
                 "--shard-size", "64", "--workers", "1"]) == 0
    summary = capsys.readouterr().err
    assert "train 200, validation 20 images in 10 classes" in summary and "32px raw" in summary
    assert main(["data", "labels", str(dest), "--fraction", "0.1", "0.5", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "masks/train-fraction-0.1-seed-2.parquet" in out and "fraction-0.5" in out
    assert main(["data", "verify", str(dest)]) == 0

    shard = dest / "shards" / "train-00001.parquet"
    shard.write_bytes(shard.read_bytes()[:-1] + b"\0")
    assert main(["data", "verify", str(dest)]) == 1
    assert "train-00001.parquet: checksum mismatch" in capsys.readouterr().err


def test_errors_name_the_problem(tmp_path, capsys):
    assert main(["data", "convert", str(tmp_path / "missing"), str(tmp_path / "ds"),
                 "--resolution", "32"]) == 1
    assert "missing: source folder does not exist" in capsys.readouterr().err
    assert main(["data", "labels", str(tmp_path / "ds"), "--fraction", "0.1"]) == 1
    assert "no manifest" in capsys.readouterr().err


def test_limit_converts_a_fixed_prefix_of_each_split(tmp_path, capsys):
    source = write_fashion_subset(tmp_path / "idx", 200, 20)
    full, head = tmp_path / "full", tmp_path / "head"
    common = ["--resolution", "32", "--shard-size", "64", "--workers", "1"]
    assert main(["data", "convert", str(source), str(full), *common]) == 0
    assert main(["data", "convert", str(source), str(head), *common, "--limit", "100"]) == 0
    assert "train 100, validation 20 images" in capsys.readouterr().err
    # the prefix's first shard is byte for byte the full conversion's
    first = "shards/train-00000.parquet"
    assert (head / first).read_bytes() == (full / first).read_bytes()
    assert main(["data", "convert", str(source), str(head), *common, "--limit", "0"]) == 1
    assert "limit must be at least 1" in capsys.readouterr().err
