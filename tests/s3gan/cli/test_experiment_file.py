"""Every command that takes an experiment file refuses a bad one the same way: exit status 2,
each problem on stderr naming the file and the field, nothing run."""

from __future__ import annotations

import pytest
import yaml

from s3gan.cli.experiment_file import USAGE_ERROR, read_experiment
from s3gan.cli.main import main

GOOD = {"apiVersion": "s3gan.io/v1alpha1", "kind": "S3GANExperiment", "metadata": {"name": "x"},
        "spec": {"method": "s3gan", "dataset": {"uri": "nowhere", "resolution": 32}}}


@pytest.mark.parametrize("command", ["train", "pretrain", "run"])
def test_a_bad_experiment_file_stops_the_command_with_its_problems(command, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**GOOD, "spec": {**GOOD["spec"], "dataset": {}}}))
    assert main([command, str(bad), "--run-dir", str(tmp_path / "run")]) == USAGE_ERROR == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "spec.dataset.uri" in err
    assert not (tmp_path / "run").exists()


def test_a_missing_or_unparsable_file_is_named(tmp_path, capsys):
    assert read_experiment(tmp_path / "absent.yaml") is None
    assert f"{tmp_path / 'absent.yaml'}" in capsys.readouterr().err
    (tmp_path / "broken.yaml").write_text("spec: [")
    assert read_experiment(tmp_path / "broken.yaml") is None
    assert "not valid YAML" in capsys.readouterr().err


def test_a_good_file_is_the_experiment(tmp_path):
    (tmp_path / "good.yaml").write_text(yaml.safe_dump(GOOD))
    assert read_experiment(tmp_path / "good.yaml").spec.dataset.uri == "nowhere"


@pytest.mark.parametrize("command", ["train", "run"])
def test_a_missing_dataset_is_one_line_naming_the_field_not_a_traceback(command, tmp_path,
                                                                        capsys):
    good = tmp_path / "good.yaml"
    method = "biggan" if command == "train" else "s3gan"
    good.write_text(yaml.safe_dump({**GOOD, "spec": {**GOOD["spec"], "method": method,
                                                     "dataset": {"uri": str(tmp_path / "none"),
                                                                 "resolution": 32}}}))
    assert main([command, str(good), "--run-dir", str(tmp_path / "run")]) == USAGE_ERROR
    err = capsys.readouterr().err
    assert f"spec.dataset.uri '{tmp_path / 'none'}' is not a converted dataset" in err
    assert "s3gan data convert" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_a_closed_pipe_ends_the_command_quietly():
    """`s3gan spec schema | head`: the reader is gone before the command writes."""
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "s3gan.cli.main", "spec", "schema"],
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and done.stderr == "", done.stderr
    assert done.returncode == 141  # 128 + SIGPIPE, as a shell reports it
