"""What a run shows while it goes: a JSONL of scalars, loss and FID curves, sample grids.

All of it is written through the run's ``Location`` (a local directory or s3://), each file whole
(``write_whole``): S3 has no append, so the metrics log is rewritten from memory; it is small
(one line per logged step).
"""

from __future__ import annotations

import io
import json
from typing import Any

import torch
from torchvision.utils import save_image

from s3gan.data.storage import Location, StorageNotFound

METRICS = "metrics.jsonl"
CURVES = "pictures/curves.png"


def grid_name(step: int) -> str:
    return f"pictures/samples-step-{step:09d}.png"


class MetricsLog:
    """Scalar records ``{"step": N, "kind": ..., name: value}`` under ``<directory>/metrics.jsonl``.

    On resume, records after the resumed step are dropped: they belong to work being redone."""

    def __init__(self, run: Location, directory: str, resumed_step: int):
        self.run, self.path = run, f"{directory}/{METRICS}"
        try:
            lines = run.read_bytes(self.path).decode().splitlines()
        except StorageNotFound:
            lines = []
        self.records = [r for r in map(json.loads, filter(None, lines))
                        if r["step"] <= resumed_step]

    def add(self, record: dict[str, Any]) -> None:
        self.records.append(record)

    def flush(self) -> None:
        text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in self.records)
        self.run.write_whole(self.path, text.encode())

    def series(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == kind]


def curves_png(log: MetricsLog) -> bytes:
    """Loss terms against G step (left) and FID against G step (right), as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4), dpi=100)
    losses, fid = figure.subplots(1, 2)
    steps = log.series("train")
    names = sorted({k for r in steps for k in r if k.startswith(("d_", "g_"))})
    for name in names:
        points = [(r["step"], r[name]) for r in steps if name in r]
        losses.plot(*zip(*points, strict=True), label=name)
    losses.set(xlabel="G step", ylabel="loss", title="training losses")
    if names:
        losses.legend(fontsize="small")
    scores = log.series("fid")
    if scores:
        fid.plot([r["step"] for r in scores], [r["fid"] for r in scores], marker="o")
        samples = scores[-1]["samplesPerSet"]
        fid.set_title(f"FID ({samples} samples per set)")
    else:
        fid.set_title("FID (not measured yet)")
    fid.set(xlabel="G step", ylabel="FID")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def grid_png(images: torch.Tensor, per_row: int) -> bytes:
    """Images in [0, 1] as one PNG grid, ``per_row`` to a row."""
    buffer = io.BytesIO()
    save_image(images.clamp(0, 1), buffer, format="png", nrow=per_row, padding=2)
    return buffer.getvalue()


def torch_bytes(value: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def torch_load(run: Location, path: str) -> Any:
    return torch.load(io.BytesIO(run.read_bytes(path)), map_location="cpu", weights_only=True)
