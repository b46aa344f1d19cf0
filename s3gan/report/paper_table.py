"""The paper's Table 2 at laptop scale: our FID, CAS, intra-class FID and label accuracy per
method beside the paper's ImageNet FID, the targets of the few-label claim, and the
label-fraction curve.

``python -m s3gan.report.paper_table OUT SWEEP_DIR [SWEEP_DIR ...]`` (what ``make paper-table``
runs after its sweeps and their ``s3gan report``) reads every finished trial of the sweeps and
writes ``OUT/paper-table.md`` and ``OUT/label-fraction.png``. Each cell is the median over seeds
with its min–max, as the paper reports the median of three seeds.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from statistics import median

from s3gan.data.storage import open_location
from s3gan.report.collect import TrialResult, read_source
from s3gan.report.tables import Table, spread

# (method, label fraction or None for the methods that read no labels) → the paper's ImageNet
# 128×128 FID (Table 2 and section 5; METHOD.md). BIGGAN-k% has none: it collapsed.
PAPER_FID: dict[tuple[str, float | None], float | None] = {
    ("biggan", None): 8.4, ("biggan-k", 0.1): None, ("single-label", None): 25.3,
    ("random-label", None): 26.5, ("clustering", None): 23.2, ("s2gan", 0.1): 8.9,
    ("s2gan-co", 0.1): 17.7, ("s3gan", 0.1): 8.0, ("s3gan-co", 0.1): 16.6,
    ("s3gan", 0.025): 13.6, ("s3gan", 0.05): 10.4, ("s3gan", 0.2): 7.7,
}
PAPER_FRACTIONS = sorted({f for (m, f) in PAPER_FID if m == "s3gan"})
NAMES = {"biggan": "BIGGAN (100%)", "biggan-k": "BIGGAN-k", "single-label": "SINGLE LABEL",
         "random-label": "RANDOM LABEL", "clustering": "CLUSTERING", "s2gan": "S²GAN",
         "s2gan-co": "S²GAN-CO", "s3gan": "S³GAN", "s3gan-co": "S³GAN-CO"}
LABEL_FREE = ("biggan", "single-label", "random-label", "clustering")


def _row_key(trial: TrialResult) -> tuple[str, float | None]:
    return trial.method, None if trial.method in LABEL_FREE else trial.fraction


def _finished(trials) -> list[TrialResult]:
    return [t for t in trials if t.state == "terminated" and "fid" in t.results("evaluate")]


def _values(trials: list[TrialResult], stage: str, *keys: str) -> list[float]:
    found = []
    for trial in trials:
        results = trial.results(stage)
        value = next((results[k] for k in keys if isinstance(results.get(k), int | float)), None)
        if value is not None:
            found.append(float(value))
    return found


def paper_table(trials) -> Table:
    groups: dict[tuple[str, float | None], list[TrialResult]] = defaultdict(list)
    for trial in _finished(trials):
        groups[_row_key(trial)].append(trial)
    rows = []
    for key, paper in PAPER_FID.items():
        method, fraction = key
        mine = groups.get(key, [])
        name = NAMES[method] + ("" if fraction is None else f" {100 * fraction:g}%")
        steps = sorted({t.results("train").get("steps") for t in mine} - {None})
        rows.append((name, spread(_values(mine, "evaluate", "fid")),
                     spread(_values(mine, "evaluate", "classAccuracyScore"), 3),
                     spread(_values(mine, "evaluate", "intraClassFid")),
                     spread(_values(mine, "labels", "accuracy", "matchedAccuracy"), 3),
                     ", ".join(map(str, steps)) or "—",
                     "collapsed" if paper is None else f"{paper:.1f}"))
    header = ("method", "FID (ours)", "CAS (ours)", "intra-class FID (ours)",
              "label accuracy (ours)", "G steps",
              "FID (paper, ImageNet 128²)")
    return Table("The paper's Table 2 at laptop scale", header, tuple(rows),
                 targets(groups) + " Cells: median (min–max), n seeds; '—' not run or not "
                 "measured. CAS and intra-class FID are not measured where G conditions on "
                 "clusters or one label; intra-class FID is biased upward at few images per "
                 "class and compares only at equal counts.")


def targets(groups: dict[tuple[str, float | None], list[TrialResult]]) -> str:
    """The few-label claim's targets: S³GAN-10% ≥ 0.9× BIGGAN's CAS and ≤ 1.1× its FID."""
    def med(key, stage, *names):
        values = _values(groups.get(key, []), stage, *names)
        return median(values) if values else None

    cas_ours, cas_full = (med(("s3gan", 0.1), "evaluate", "classAccuracyScore"),
                          med(("biggan", None), "evaluate", "classAccuracyScore"))
    fid_ours, fid_full = med(("s3gan", 0.1), "evaluate", "fid"), med(("biggan", None),
                                                                     "evaluate", "fid")
    if None in (cas_ours, cas_full, fid_ours, fid_full) or not cas_full:
        return "Targets: S³GAN 10% or BIGGAN (100%) has not finished yet."
    cas_ratio, fid_ratio = cas_ours / cas_full, fid_ours / fid_full
    return (f"Targets: S³GAN 10% reaches {cas_ratio:.2f}× BIGGAN's CAS (target ≥ 0.9: "
            f"{'met' if cas_ratio >= 0.9 else 'not met'}) and {fid_ratio:.2f}× its FID (target "
            f"≤ 1.1: {'met' if fid_ratio <= 1.1 else 'not met'}).")


def fraction_curve(trials) -> bytes:
    """S³GAN's CAS and FID against the label fraction, BIGGAN (100%) as a line, with the
    paper's ImageNet FID on its own axis."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    finished = _finished(trials)
    s3 = defaultdict(list)
    for t in finished:
        if t.method == "s3gan" and t.fraction is not None:
            s3[t.fraction].append(t)
    fractions = sorted(s3)
    full = [t for t in finished if t.method == "biggan"]
    figure, (cas_axis, fid_axis) = plt.subplots(1, 2, figsize=(10, 4))
    for axis, key, label in ((cas_axis, "classAccuracyScore", "CAS"), (fid_axis, "fid", "FID")):
        ys = [median(v) if (v := _values(s3[f], "evaluate", key)) else float("nan")
              for f in fractions]
        axis.plot([100 * f for f in fractions], ys, "o-", label="S³GAN (ours)")
        if values := _values(full, "evaluate", key):
            axis.axhline(median(values), color="k", linestyle="--", label="BIGGAN 100% (ours)")
        axis.set_xlabel("labelled share of the train split (%)")
        axis.set_ylabel(f"{label} (ours)")
        axis.set_xscale("log")
        ticks = [100 * f for f in PAPER_FRACTIONS]
        axis.set_xticks(ticks, [f"{t:g}" for t in ticks])
        axis.minorticks_off()
    paper = sorted((f, v) for (m, f), v in PAPER_FID.items() if m == "s3gan" and v)
    twin = fid_axis.twinx()
    twin.minorticks_off()
    twin.plot([100 * f for f, _ in paper], [v for _, v in paper], "s:", color="tab:red",
              label="S³GAN (paper, ImageNet)")
    twin.axhline(PAPER_FID[("biggan", None)], color="tab:red", linestyle=":", alpha=0.5)
    twin.set_ylabel("FID (paper, ImageNet 128²)", color="tab:red")
    cas_axis.legend(fontsize=8)
    fid_axis.legend(fontsize=8, loc="upper left")
    twin.legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m s3gan.report.paper_table OUT SWEEP_DIR [SWEEP_DIR ...]",
              file=sys.stderr)
        return 2
    out, sources = Path(argv[0]), argv[1:]
    trials = [t for uri in sources for t in read_source(open_location(uri)).trials]
    out.mkdir(parents=True, exist_ok=True)
    table = paper_table(trials)
    (out / "paper-table.md").write_text(table.markdown())
    (out / "label-fraction.png").write_bytes(fraction_curve(trials))
    print(table.markdown())
    print(f"written: {out / 'paper-table.md'}, {out / 'label-fraction.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
