"""The experiment spec: defaults from the paper, errors that name fields, light imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from s3gan.cli.main import main as cli
from s3gan.cli.spec_cmd import schema_document
from s3gan.spec import (
    Method,
    SpecError,
    load_experiment,
    parse_experiment,
    with_overrides,
)

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted([*REPO.glob("examples/*.yaml"), *REPO.glob("manifests/examples/*.yaml")])
MALFORMED = sorted((Path(__file__).parent / "malformed").glob("*.yaml"))


def _doc(**spec) -> dict:
    spec.setdefault("dataset", {"uri": "/d"})
    return {"apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment",
            "metadata": {"name": "x"}, "spec": spec}


def _expected_paths(path: Path) -> list[str]:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: ")
    return [p.strip() for p in first.removeprefix("# expect: ").split("|")]


def test_defaults_follow_the_paper():
    s = parse_experiment(_doc()).spec
    assert s.method is Method.S3GAN
    assert (s.training.g_learning_rate, s.training.d_learning_rate) == (5e-5, 2e-4)
    assert (s.training.adam_beta1, s.training.adam_beta2, s.training.d_steps) == (0.0, 0.999, 2)
    assert s.training.global_batch == 2048 and s.training.steps == 250_000
    assert s.model.z_dim == 120 and s.model.ch == 96
    assert s.training.alpha == 0.2 and s.beta == 0.5
    assert s.pretraining.gamma == 0.5 and s.pretraining.unlabelled_per_batch == 1536
    assert s.pretraining.decay_epochs == (45, 55) and s.pretraining.epochs == 65
    assert s.training.diff_augment == () and s.training.orthogonal_regularization == 0.0
    assert (s.evaluation.samples_per_set, s.evaluation.sets) == (50_000, 5)


def test_method_dependent_defaults():
    assert parse_experiment(_doc(method="s3gan-co")).spec.beta == 1.0
    assert parse_experiment(_doc(method="s2gan-co")).spec.pseudo_labels == "soft"
    assert parse_experiment(_doc(method="s2gan")).spec.pseudo_labels == "hard"
    explicit = parse_experiment(_doc(method="s3gan-co", training={"beta": 0.25})).spec
    assert explicit.beta == 0.25


def test_batch_factorisation():
    s = parse_experiment(
        _doc(training={"globalBatch": 64, "microBatch": 8}, resources={"workers": 2})
    ).spec
    assert (s.micro_batch, s.accumulation) == (8, 4)
    with pytest.raises(SpecError) as e:
        parse_experiment(_doc(training={"globalBatch": 64, "microBatch": 48}))
    assert e.value.problems[0].path == "spec.training.globalBatch"
    assert e.value.problems[0].value == 64


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.stem)
def test_malformed_files_name_every_bad_field(path):
    with pytest.raises(SpecError) as e:
        load_experiment(path)
    reported = [p.path for p in e.value.problems]
    assert sorted(reported) == sorted(_expected_paths(path))
    assert str(path) in str(e.value)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_load_and_match_the_json_schema(path):
    load_experiment(path)
    jsonschema.validate(yaml.safe_load(path.read_text()), schema_document())


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.stem)
def test_json_schema_rejects_structurally_malformed_files(path):
    document = yaml.safe_load(path.read_text())
    semantic = "# semantic:" in path.read_text()
    errors = list(jsonschema.Draft202012Validator(schema_document()).iter_errors(document))
    assert bool(errors) != semantic


def test_overrides_apply_sweep_parameters_and_paths():
    base = parse_experiment(_doc()).spec
    s = with_overrides(base, {"beta": 2, "method": "s3gan-co", "training.dSteps": 3, "seed": 7})
    assert (s.beta, s.method, s.training.d_steps, s.seeds.gan) == (2.0, Method.S3GAN_CO, 3, 7)
    assert base.training.d_steps == 2  # the original is untouched
    with pytest.raises(SpecError) as e:
        with_overrides(base, {"fraction": 0})
    assert e.value.problems[0].path == "spec.labels.fraction"


def test_unreadable_and_non_yaml_files(tmp_path):
    with pytest.raises(SpecError, match="cannot read"):
        load_experiment(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("spec: [unclosed")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_experiment(bad)
    bad.write_text("- a list")
    with pytest.raises(SpecError, match="must be a mapping"):
        load_experiment(bad)


def test_cli_validate_and_schema(capsys):
    assert cli(["spec", "validate", str(EXAMPLES[0])]) == 0
    assert "ok" in capsys.readouterr().out
    assert cli(["spec", "validate", str(MALFORMED[0])]) == 2
    err = capsys.readouterr().err
    for path in _expected_paths(MALFORMED[0]):
        assert path in err
    assert cli(["spec", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["properties"]["kind"]["const"] == "S3GANExperiment"


def test_spec_imports_neither_torch_nor_ray():
    code = (
        "import sys, s3gan.spec, s3gan.cli.main, s3gan.monitor.catalogue\n"
        "heavy = {'torch', 'ray', 'pyarrow', 'kubernetes', 'kopf'} & set(sys.modules)\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_hierarchical_z_must_split_into_the_generator_chunks():
    with pytest.raises(SpecError) as e:
        parse_experiment(_doc(dataset={"uri": "/d", "resolution": 256}))
    assert [p.path for p in e.value.problems] == ["spec.model.zDim"]
    parse_experiment(_doc(dataset={"uri": "/d", "resolution": 256}, model={"zDim": 140}))
    parse_experiment(_doc(dataset={"uri": "/d", "resolution": 256}, model={"hierarchicalZ": False}))


def test_paper_table_trains_with_the_demos_settings():
    # docs/results.md sets the table's S³GAN 10% beside `make demo`: one config, not two drifting.
    demo, table = (yaml.safe_load((REPO / "examples" / name).read_text())["spec"]
                   for name in ("fashion-mnist-s3gan.yaml", "paper-table.yaml"))
    assert demo == table
