"""`s3gan model summary` prints the paper's parameter counts part by part."""

from __future__ import annotations

import pytest

from s3gan.cli.main import main as cli


def test_summary_prints_the_paper_counts(capsys):
    assert cli(["model", "summary", "--resolution", "128", "--ch", "96", "--classes", "1000",
                "--heads", "rotation,classifier"]) == 0
    out = capsys.readouterr().out
    generator, discriminator = out.split("discriminator\n")
    assert "70,433,988" in generator.splitlines()[-1]
    assert "total" in discriminator.splitlines()[-2] and "89,525,518" in discriminator
    assert discriminator.splitlines()[-1] == (
        "  without the extra heads (rotation c_R 6,148 + classifier c_CT 1,537,000): 87,982,370,"
        " the count of the paper's Table 11, which lists D without them")
    for part in ("shared embedding 1000×128", "non-local at 64×64", "block 5: 192→96"):
        assert part in generator
    assert "block 6: 1536→1536, 4×4, no shortcut" in discriminator
    assert "projection P" in discriminator and "rotation c_R" in discriminator


def test_summary_without_heads_matches_compare_gan(capsys):
    assert cli(["model", "summary"]) == 0
    out = capsys.readouterr().out
    assert "70,433,988" in out and "87,982,370" in out
    assert "rotation" not in out and "extra heads" not in out


def test_single_label_drops_the_projection(capsys):
    assert cli(["model", "summary", "--resolution", "32", "--ch", "64", "--classes", "10",
                "--no-projection"]) == 0
    out = capsys.readouterr().out
    assert "projection" not in out
    assert out.splitlines()[-1].split()[-1] == f"{1_059_074 - 1_280:,}"


def test_unknown_heads_are_named(capsys):
    with pytest.raises(SystemExit):
        cli(["model", "summary", "--heads", "rotation,jigsaw"])
    assert "jigsaw" in capsys.readouterr().err
