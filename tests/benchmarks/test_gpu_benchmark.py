"""The one-GPU benchmark's CPU rehearsal (``--device cpu --tiny``): every part runs and writes
its figures, so the script is ready the day a GPU is lent. Figures are not checked here
(benchmarks print them; tests never time anything)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_cpu_rehearsal_writes_every_row_and_part(tmp_path):
    out = tmp_path / "gpu.json"
    subprocess.run(
        [sys.executable, "-m", "benchmarks", "gpu", "--device", "cpu", "--tiny", "--no-ray",
         "--iterations", "1", "--parity-steps", "3", "--out", str(out)],
        cwd=REPO, check=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    report = json.loads(out.read_text())
    flops = report["flops"]
    assert flops["d_update"] > 0 and flops["g_update"] > 0
    per_image = flops["per_generated_batch_image_by_d_steps"]
    assert per_image["2"] == pytest.approx(
        per_image["1"] + flops["d_update"] / report["size"]["batch"])
    rows = {(r["precision"], r["compiled"], r["d_steps"]): r for r in report["rows"]}
    assert set(rows) == {(p, c, d) for p, c in (("fp32", False), ("bf16", False),
                                                ("bf16", True)) for d in (1, 2)}
    assert all(r["images_per_s"] > 0 and r["mfu"] is None for r in rows.values())
    assert rows[("bf16", True, 2)]["top_kernels"]  # no peak known: the profile is printed
    assert report["largest_batch"]["fits"] == report["largest_batch"]["capped"]
    assert report["parity"]["steps"] == 3
    assert all(math.isfinite(g) for g in report["parity"]["max_gap"].values())
    assert report["checkpoint_round_trip"]["weights_equal_on_cpu"] is True
    assert report["skipped"] == []
