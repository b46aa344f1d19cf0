"""The Ray Data inference reader: every image exactly once across consumers, verified."""

from __future__ import annotations

import numpy as np
import pytest
import ray
from s3gan_workers.data import image_dataset, to_batch

from s3gan.data.convert import convert
from s3gan.data.idx import read_idx
from s3gan.data.manifest import Settings
from s3gan.data.masks import create_masks, draw_labelled
from s3gan.data.sources import listing_positions
from s3gan.data.storage import open_location
from s3gan.spec.model import Storage
from tests.fixtures.datasets import FASHION, quiet, write_fashion_subset

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    source = write_fashion_subset(tmp_path_factory.mktemp("idx"), 300, 10)
    dest = tmp_path_factory.mktemp("ray-data") / "ds"
    convert(str(source), str(dest), Settings(32, 1, "raw", 25), workers=1, report=quiet)
    create_masks(open_location(str(dest)), [0.1], seed=4)
    return dest


@ray.remote(num_cpus=0)
def _consume(iterator) -> list[int]:
    return [i for rows in iterator.iter_batches(batch_size=50) for i in rows["index"].tolist()]


def test_two_consumers_see_every_image_exactly_once(ray_cluster, dataset):
    ds = image_dataset(str(dataset), "train", mask=(0.1, 4))
    a, b = ds.streaming_split(2, equal=False)
    first, second = ray.get([_consume.remote(a), _consume.remote(b)])
    assert first and second  # both consumers got work
    assert sorted(first + second) == list(range(300))


def test_rows_hold_the_stored_images_and_hidden_labels(ray_cluster, dataset):
    rows = image_dataset(str(dataset), "train", mask=(0.1, 4)).take_batch(300)
    batch = to_batch(rows)
    _, labels = read_idx(FASHION, "train")
    labels = labels[:300][listing_positions("train", 300)]  # in stable-index order
    order = np.argsort(batch.index.numpy())
    labelled = batch.labelled.numpy()[order]
    assert np.array_equal(labelled, draw_labelled(labels.numpy(), 0.1, seed=4))
    assert np.array_equal(batch.labels.numpy()[order][labelled], labels.numpy()[labelled])
    assert (batch.labels.numpy()[order][~labelled] == -1).all()
    # a one-channel dataset comes out as three equal channels
    assert (batch.images[:, 0] == batch.images[:, 2]).all()


@pytest.mark.s3
def test_ray_workers_read_shards_from_s3(ray_cluster, s3_server, tmp_path):
    source = write_fashion_subset(tmp_path / "idx", 120, 10)
    storage = Storage(endpoint=s3_server.endpoint)
    uri = f"s3://{s3_server.create_bucket('ray-data')}/subset"
    convert(str(source), uri, Settings(32, 3, "raw", 32), storage, workers=1, report=quiet)
    first, second = image_dataset(uri, "train", storage).streaming_split(2, equal=False)
    indices = ray.get([_consume.remote(first), _consume.remote(second)])
    assert sorted(indices[0] + indices[1]) == list(range(120))
