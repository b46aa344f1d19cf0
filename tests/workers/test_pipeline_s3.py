"""The pipeline with its dataset and run directory on the real S3 server (Swift + s3api): every
artefact lands in the bucket, and a fresh node (no local checkpoints) resumes from the checkpoint
Ray Train carried to S3."""

from __future__ import annotations

import json
import shutil

import pytest
import ray.cloudpickle
import torch
from s3gan_workers import pipeline
from s3gan_workers.run_record import RECORD
from s3gan_workers.stages import ray_train
from s3gan_workers.stages.run_files import torch_load

from s3gan.data.convert import convert
from s3gan.data.manifest import Settings
from s3gan.data.masks import create_masks
from s3gan.data.storage import open_location
from s3gan.spec.model import Storage
from tests.fixtures.datasets import quiet, write_fashion_subset
from tests.workers import pipeline_fixtures
from tests.workers.pipeline_fixtures import TinyNetwork, tiny_experiment

pytestmark = [pytest.mark.ray, pytest.mark.s3, pytest.mark.slow]
ray.cloudpickle.register_pickle_by_value(pipeline_fixtures)


def test_pipeline_on_s3_writes_every_artefact_and_resumes_on_a_fresh_node(
        s3_server, ray_cluster, tmp_path):
    storage = Storage(endpoint=s3_server.endpoint)
    data_bucket, runs_bucket = (s3_server.create_bucket(n) for n in ("pipe-data", "pipe-runs"))
    dataset = f"s3://{data_bucket}/ds"
    source = write_fashion_subset(tmp_path / "idx", 256, 64)
    convert(str(source), dataset, Settings(32, 1, "raw", 64), storage=storage, workers=1,
            report=quiet)
    create_masks(open_location(dataset, storage), [0.1], seed=0)
    experiment = tiny_experiment("tiny-s3", "s3gan", dataset, runs=f"s3://{runs_bucket}",
                                 endpoint=s3_server.endpoint, steps=2)
    run = pipeline.run_location(experiment, None)
    records = pipeline.run_pipeline(experiment, run, feature_network=TinyNetwork(),
                                    say=lambda line: None)

    keys = {o["Key"] for o in s3_server.client().list_objects_v2(
        Bucket=runs_bucket, Prefix="tiny-s3/")["Contents"]}
    for record in records.values():
        prefix = f"tiny-s3/{record.directory}"
        assert f"{prefix}/{RECORD}" in keys
        assert all(f"{prefix}/{name}" in keys for name in record.outputs)
    assert json.loads(run.read_bytes(pipeline.SUMMARY))["stages"]["evaluate"]["results"]["fid"] > 0
    assert any("/ray/" in k for k in keys)  # Ray Train's run state and checkpoints, beside ours

    # A fresh node: no local checkpoint, no train record; Ray Train's copy on S3 is all there is.
    train = records["train"]
    final = torch_load(run, f"{train.directory}/final.pt")["generator"]
    shutil.rmtree(ray_train.local_scratch("tiny-s3", "train", train.key))
    run.delete(f"{train.directory}/{RECORD}")
    lines = []
    again = pipeline.run_pipeline(experiment, run, feature_network=TinyNetwork(),
                                  say=lines.append)
    assert again["train"].key == train.key
    assert sum("finished earlier" in line for line in lines) == 3  # all but train
    resumed = torch_load(run, f"{train.directory}/final.pt")["generator"]
    for name, tensor in final.items():
        torch.testing.assert_close(resumed[name], tensor, rtol=0, atol=0)
