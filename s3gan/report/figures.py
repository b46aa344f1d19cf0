"""The paper's figures from a sweep's trials, as PNG bytes (matplotlib Agg, torchvision grids).

FID against G step per method (Fig. 21) from each trial's training log and final evaluation;
per-class samples (Figs. 17–20) from the training stage's final grid; latent interpolations
(Figs. 9–13) sampled from each setting's checkpoint. Every caption states its sample sizes.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from s3gan.data.storage import Location, StorageNotFound
from s3gan.eval.export import TrainedRun, evaluated_generator
from s3gan.eval.interpolation import interpolation_rows
from s3gan.eval.sampling import grid_classes
from s3gan.report.collect import TrialResult
from s3gan.report.tables import setting
from s3gan.train.checkpoint import CheckpointStore

METRICS = "metrics.jsonl"  # the training stage's scalar log
_GRID = re.compile(r"samples-step-(\d+)\.png$")
INTERPOLATION_FRAMES = 8
GRID_PADDING = 2  # torchvision's save_image default, used by the training stage's grids


@dataclass(frozen=True)
class Figure:
    name: str  # file name in the report directory
    title: str
    caption: str  # what is shown and from how many samples
    png: bytes


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure as MplFigure

    return MplFigure


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def fid_points(location: Location, trial: TrialResult) -> list[tuple[int, float]]:
    """(G step, FID) through training, ending with the evaluate stage's final measurement."""
    points: dict[int, float] = {}
    train = trial.directory("train")
    if train is not None:
        try:
            lines = location.read_bytes(f"{train}/{METRICS}").decode().splitlines()
        except StorageNotFound:
            lines = []
        for record in map(json.loads, filter(None, lines)):
            if record["kind"] == "fid":
                points[record["step"]] = record["fid"]
    final = trial.results("evaluate")
    if "fid" in final:
        points[trial.results("train")["steps"]] = final["fid"]
    return sorted(points.items())


def curves(location: Location, trials: tuple[TrialResult, ...]) -> Figure:
    """Fig. 21: FID (left) and IS (right) against G step, one colour per method setting and
    label fraction, one line per seed."""
    figure = _figure()(figsize=(11, 4.2), dpi=100)
    fid_axes, is_axes = figure.subplots(1, 2)
    colours = {}
    for trial in trials:
        points = fid_points(location, trial)
        if not points:
            continue
        group = setting(trial) + (f", {100 * trial.fraction:g}% labels" if trial.fraction
                                  else "")
        first = group not in colours
        colours.setdefault(group, f"C{len(colours) % 10}")
        fid_axes.plot(*zip(*points, strict=True), marker="o", color=colours[group], alpha=0.8,
                      label=group if first else None)
    fid_axes.set(xlabel="G step", ylabel="FID", title="FID during training")
    if colours:
        fid_axes.legend(fontsize="small")
    scores = [(trial.results("train").get("steps"), trial.results("evaluate")["inceptionScore"])
              for trial in trials if "inceptionScore" in trial.results("evaluate")]
    numeric = [(s, v) for s, v in scores if isinstance(v, int | float)]
    if numeric:
        is_axes.scatter(*zip(*numeric, strict=True))
        is_axes.set(xlabel="G step", ylabel="IS", title="Inception Score (final evaluation)")
    else:
        is_axes.axis("off")
        is_axes.text(0.5, 0.5, "Inception Score unavailable:\nthe feature network has no "
                     "classifier\n(offline Inception or a stand-in)", ha="center", va="center")
    figure.tight_layout()
    sizes = sorted({(t.results("evaluate").get("sets"), t.results("evaluate").get("samplesPerSet"),
                     t.results("evaluate").get("network")) for t in trials
                    if "fid" in t.results("evaluate")})
    caption = ("Each point is one FID measurement of one seed: " + "; ".join(
        f"{n} set(s) of {s} generated samples with {net}" for n, s, net in sizes) + ".")
    return Figure("curves.png", "FID and IS against G step (paper Fig. 21)", caption,
                  _png(figure))


def representatives(trials: tuple[TrialResult, ...]) -> list[TrialResult]:
    """One finished trial per setting and label fraction: the lowest seed."""
    chosen: dict[tuple, TrialResult] = {}
    for trial in sorted(trials, key=lambda t: (t.seed or 0)):
        if trial.state == "terminated":
            chosen.setdefault((setting(trial), trial.fraction), trial)
    return list(chosen.values())


def _slug(trial: TrialResult) -> str:
    return re.sub(r"[^A-Za-z0-9.=-]+", "_", trial.name)


def class_grid(location: Location, trial: TrialResult, resolution: int | None) -> Figure | None:
    """Figs. 17–20: the training stage's final per-class grid (one row per class)."""
    train = trial.directory("train")
    if train is None:
        return None
    grids = [n for n in location.list_files(f"{train}/pictures") if _GRID.search(n)]
    if not grids:
        return None
    name = max(grids, key=lambda n: int(_GRID.search(n).group(1)))
    png = location.read_bytes(f"{train}/pictures/{name}")
    step = int(_GRID.search(name).group(1))
    shape = _grid_shape(png, resolution)
    sizes = f"{shape[0]} classes × {shape[1]} samples" if shape else "one row per class"
    return Figure(f"samples-{_slug(trial)}.png", f"Samples of {trial.name}",
                  f"{sizes} at G step {step}, the EMA generator, no truncation.", png)


def _grid_shape(png: bytes, resolution: int | None) -> tuple[int, int] | None:
    if resolution is None:
        return None
    from PIL import Image

    width, height = Image.open(io.BytesIO(png)).size
    cell = resolution + GRID_PADDING
    return (height - GRID_PADDING) // cell, (width - GRID_PADDING) // cell


def trained_generator(location: Location, trial: TrialResult
                      ) -> tuple[torch.nn.Module, int] | None:
    """The trial's EMA generator from its newest verified checkpoint, standing statistics in
    place, and its G step; None without a spec or a local checkpoint."""
    train = trial.directory("train")
    if trial.spec is None or train is None or location.uri.startswith("s3://"):
        return None
    latest = CheckpointStore(Path(location.path(f"{train}/checkpoints")), keep=1).latest()
    if latest is None:
        return None
    return evaluated_generator(TrainedRun(trial.spec, latest.path, latest.step)), latest.step


def interpolation(location: Location, trial: TrialResult) -> Figure | None:
    """Figs. 9–13: z_a → z_b with the class held fixed, the same path in every row, from the
    setting's newest checkpoint (local run directories only)."""
    found = trained_generator(location, trial)
    if found is None:
        return None
    generator, step = found
    spec = trial.spec
    classes = grid_classes(generator.shared.num_embeddings)
    rng = torch.Generator().manual_seed(spec.seeds.gan)
    images = interpolation_rows(generator, classes, INTERPOLATION_FRAMES, spec.model.z_dim,
                                spec.model.output_range, spec.evaluation.truncation, rng)
    from torchvision.utils import save_image

    buffer = io.BytesIO()
    save_image(images.clamp(0, 1), buffer, format="png", nrow=INTERPOLATION_FRAMES,
               padding=GRID_PADDING)
    return Figure(f"interpolation-{_slug(trial)}.png", f"Latent interpolation, {trial.name}",
                  f"{len(classes)} classes × {INTERPOLATION_FRAMES} frames from one pair of "
                  f"latents, checkpoint of G step {step}.", buffer.getvalue())
