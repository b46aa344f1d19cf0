"""`s3gan pretrain` on converted shards: F and per-image labels land in one verified checkpoint."""

from pathlib import Path

import pytest
import torch
import yaml

from s3gan.cli.main import main
from s3gan.data.convert import convert
from s3gan.data.manifest import Settings
from s3gan.data.masks import create_masks
from s3gan.data.storage import open_location
from s3gan.nn.resnet_v2 import ResNetV2
from s3gan.spec import load_experiment
from s3gan.train.checkpoint import CheckpointStore, load
from tests.fixtures.datasets import FASHION, quiet, write_fashion_subset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    if not Path(FASHION).is_dir():
        pytest.skip("dataset-fashion-mnist not installed (`make tools` installs it)")
    root = tmp_path_factory.mktemp("pretrain-data")
    source = write_fashion_subset(root / "idx", 96, 16)
    convert(str(source), str(root / "ds"), Settings(32, 3, "raw", 32), workers=1, report=quiet)
    create_masks(open_location(str(root / "ds")), [0.25], seed=0)
    return root / "ds"


def _experiment(tmp_path, dataset, method):
    document = {
        "apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
        "metadata": {"name": f"pretrain-{method}"},
        "spec": {
            "method": method,
            "labels": {"fraction": 0.25, "clusters": 4},
            "dataset": {"uri": str(dataset), "resolution": 32, "numClasses": 10},
            "pretraining": {"depth": 26, "widening": 1, "epochs": 1, "batchSize": 32,
                            "unlabelledPerBatch": 24, "warmupEpochs": 0, "decayEpochs": []},
        },
    }
    path = tmp_path / f"{method}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.slow
@pytest.mark.parametrize(("method", "num_classes"), [("s3gan", 10), ("clustering", 4)])
def test_pretrain_writes_f_and_a_label_per_image(tmp_path, dataset, method, num_classes, capsys):
    file = _experiment(tmp_path, dataset, method)
    assert main(["pretrain", str(file), "--run-dir", str(tmp_path / "run"), "--device", "cpu"]) == 0
    output = capsys.readouterr().out
    if method == "s3gan":
        assert "c_S2L labels on the train split: accuracy" in output
        assert "c_S2L top-1 on the held-out split (16 images):" in output
    else:
        assert "k-means (k=4) labels on the train split: matchedAccuracy" in output
    latest = CheckpointStore(tmp_path / "run" / "pretraining", keep=1).latest()
    state = load(latest.path)  # verified against its manifest
    table = state["labels"]["table"]
    assert state["labels"]["num_classes"] == num_classes
    assert table.dtype == torch.int64 and table.shape == (96,)
    assert 0 <= int(table.min()) and int(table.max()) < num_classes
    spec = load_experiment(file).spec
    f = ResNetV2.from_spec(spec, 10 if method == "s3gan" else None)
    f.load_state_dict(state["f"])


def test_methods_without_pretraining_are_refused(tmp_path, capsys):
    file = tmp_path / "biggan.yaml"
    file.write_text(yaml.safe_dump({
        "apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
        "metadata": {"name": "plain"},
        "spec": {"method": "biggan", "dataset": {"uri": "nowhere", "resolution": 32}},
    }))
    assert main(["pretrain", str(file), "--run-dir", str(tmp_path / "run")]) == 2
    assert "uses no pretrained feature extractor" in capsys.readouterr().err
