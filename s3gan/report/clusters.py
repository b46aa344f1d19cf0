"""Real and generated images per k-means cluster (paper Figs. 14–16), for the clustering runs.

For each shown cluster c: a row of real training images whose label table entry is c (the
``labels`` stage's k-means assignment ŷ = c_CL(F(x))), then a row the generator drew for class c.
Matching rows show whether the GAN learned what the clusters group.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from torchvision.utils import save_image

from s3gan.data.manifest import read_manifest, read_verified_shard
from s3gan.data.shards import decode_images, read_columns
from s3gan.data.storage import Location, open_location
from s3gan.eval.sampling import sample_latents
from s3gan.nn.ranges import to_unit_range
from s3gan.report.collect import TrialResult
from s3gan.report.figures import GRID_PADDING, Figure, trained_generator

LABEL_TABLE = "labels.npz"  # the labels stage's table, indexed by stable image index
CLUSTERS_SHOWN = 6
PER_ROW = 8


def _real_by_cluster(trial: TrialResult, table: np.ndarray
                     ) -> dict[int, list[np.ndarray]]:
    """Real training images grouped by cluster, shard by shard until every shown cluster has a
    row or the split ends."""
    spec = trial.spec
    dataset = open_location(spec.dataset.uri, spec.storage)
    manifest = read_manifest(dataset)
    s = manifest.settings
    found: dict[int, list[np.ndarray]] = {}
    for shard in manifest.split_shards(spec.dataset.train_split):
        columns = read_columns(read_verified_shard(dataset, shard), ["image", "index"])
        images = decode_images(columns["image"].combine_chunks(), s.encoding, s.resolution,
                               s.channels)
        for image, index in zip(images, columns["index"].to_numpy(), strict=True):
            row = found.setdefault(int(table[index]), [])
            if len(row) < PER_ROW:
                row.append(image)
        full = [c for c, row in found.items() if len(row) == PER_ROW]
        if len(full) >= CLUSTERS_SHOWN:
            break
    return found


def cluster_grid(location: Location, trial: TrialResult) -> Figure | None:
    """Pairs of rows (real, generated) for the most populated clusters; None when the trial has
    no k-means labels or no checkpoint to sample."""
    labels = trial.directory("labels")
    if labels is None or "purity" not in trial.results("labels") or trial.spec is None:
        return None
    found = trained_generator(location, trial)
    if found is None:
        return None
    generator, step = found
    with np.load(io.BytesIO(location.read_bytes(f"{labels}/{LABEL_TABLE}"))) as f:
        table = f["table"]
    real = _real_by_cluster(trial, table)
    shown = sorted(real, key=lambda c: (-len(real[c]), c))[:CLUSTERS_SHOWN]
    spec = trial.spec
    rng = torch.Generator().manual_seed(spec.seeds.gan)
    rows = []
    for cluster in shown:
        images = torch.from_numpy(np.stack(real[cluster])).float() / 255
        padded = torch.zeros(PER_ROW, *images.shape[1:])
        padded[: len(images)] = images
        z = sample_latents(PER_ROW, spec.model.z_dim, spec.evaluation.truncation, rng)
        with torch.no_grad():
            fake = generator(z, torch.full((PER_ROW,), cluster, dtype=torch.int64))
        rows += [padded, (to_unit_range(fake.float(), spec.model.output_range) + 1) / 2]
    buffer = io.BytesIO()
    save_image(torch.cat(rows).clamp(0, 1), buffer, format="png", nrow=PER_ROW,
               padding=GRID_PADDING)
    caption = (f"{len(shown)} of {spec.labels.clusters} clusters (most populated first); per "
               f"cluster a row of up to {PER_ROW} real training images assigned to it, then "
               f"{PER_ROW} generated for it at G step {step}.")
    return Figure(f"clusters-{trial.name.replace(',', '_')}.png",
                  f"Real vs generated per cluster, {trial.name}", caption, buffer.getvalue())
