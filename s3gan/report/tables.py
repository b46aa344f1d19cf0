"""The paper's tables from a sweep's trials.

Tables 2, 4 and 5 (FID and IS per method × label fraction): the paper reports the median over
three seeds; each cell here is that median with the spread over seeds (min–max) and the number
of seeds. Table 3 (the S²L classifier's accuracy per label fraction): one row per distinct
pretrained F, with c_S2L's top-1 on the held-out split (the paper's Table 3 figure), its
labels' accuracy on the training images (against ground truth no training step read) and the
linear probe on held-out images.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from statistics import median

from s3gan.report.collect import TrialResult

UNAVAILABLE = "unavailable"  # IS with weights that carry no classifier (offline Inception)


@dataclass(frozen=True)
class Table:
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str

    def csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return buffer.getvalue()

    def markdown(self) -> str:
        lines = [f"**{self.title}**", "", "| " + " | ".join(self.header) + " |",
                 "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines + ["", self.note, ""])


def setting(trial: TrialResult) -> str:
    """The row a trial belongs to: its method and every swept value except seed and fraction."""
    rest = ", ".join(f"{k}={v}" for k, v in sorted(trial.overrides.items())
                     if k not in ("method", "seed", "fraction"))
    return trial.method + (f" ({rest})" if rest else "")


def _fraction(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:g}%"


def spread(values: list[float], digits: int = 2) -> str:
    """``median (min–max), n=N`` — the paper's median over seeds with its spread."""
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.{digits}f} (n=1)"
    return (f"{median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f}), "
            f"n={len(values)}")


def _evaluated(trials: tuple[TrialResult, ...]) -> list[TrialResult]:
    return [t for t in trials if t.state == "terminated" and "fid" in t.results("evaluate")]


SCORES = {"fid": "FID (lower is better)",
          "inceptionScore": "Inception Score (higher is better)",
          "classAccuracyScore": "Classification Accuracy Score (higher is better)",
          "intraClassFid": "Intra-class FID (lower is better)"}


def score_table(trials: tuple[TrialResult, ...], score: str) -> Table:
    """``score`` is ``fid``, ``inceptionScore``, ``classAccuracyScore`` or ``intraClassFid``: rows
    are settings, columns label fractions."""
    evaluated = _evaluated(trials)
    fractions = sorted({t.fraction for t in evaluated}, key=lambda f: (f is None, f or 0))
    cells: dict[tuple[str, float | None], list] = defaultdict(list)
    for trial in evaluated:
        value = trial.results("evaluate").get(score)
        if value is not None:  # not measured (CAS, intra-FID where G draws clusters): '—'
            cells[setting(trial), trial.fraction].append(value)
    rows = []
    for name in sorted({setting(t) for t in evaluated}):
        row = [name]
        for fraction in fractions:
            values = cells.get((name, fraction), [])
            numbers = [v for v in values if isinstance(v, int | float)]
            row.append(UNAVAILABLE if values and not numbers
                       else spread(numbers, 3 if score == "classAccuracyScore" else 2))
        rows.append(tuple(row))
    header = ("method", *(f"{_fraction(f)} labels" for f in fractions))
    networks = sorted({t.results("evaluate")["network"] for t in evaluated})
    sizes = sorted({(t.results("evaluate")["sets"], t.results("evaluate")["samplesPerSet"])
                    for t in evaluated})
    shown = "; ".join(f"{n} set(s) of {s} generated samples" for n, s in sizes)
    note = (f"Median over seeds (min–max), n seeds per cell. {shown} per trial; "
            f"feature network: {', '.join(networks) or '—'}"
            + ("; IS needs Inception's classifier, which the offline weights and stand-in "
               "networks lack." if score == "inceptionScore" else "."))
    if score == "classAccuracyScore":
        note = _cas_note(evaluated)
    if score == "intraClassFid":
        note = _intra_fid_note(evaluated)
    return Table(f"{SCORES[score]} per method × label fraction (paper Tables 2, 4, 5)", header,
                 tuple(rows), note)


def _cas_note(evaluated: list[TrialResult]) -> str:
    results = [t.results("evaluate") for t in evaluated if "classAccuracyScore" in
               t.results("evaluate")]
    if not results:
        return "No trial measured CAS (off, or G's labels were clusters or a single label)."
    errors = [r["classAccuracyStandardError"] for r in results]
    per_class = sorted({r["classAccuracySamplesPerClass"] for r in results})
    accuracy = sorted({round(r["classifierTestAccuracy"], 4) for r in results})
    return (f"Share of the samples generated for class c that the evaluation classifier puts "
            f"in c; median over seeds (min–max). {', '.join(map(str, per_class))} samples per "
            f"class; standard error per trial {min(errors):.3f}–{max(errors):.3f}. The "
            f"classifier (trained once on every train label) scores "
            f"{', '.join(f'{a:.3f}' for a in accuracy)} on held-out real images: the ceiling. "
            "'—': not measured (G conditions on clusters or on one label).")


def _intra_fid_note(evaluated: list[TrialResult]) -> str:
    results = [t.results("evaluate") for t in evaluated if "intraClassFid" in
               t.results("evaluate")]
    if not results:
        return ("No trial measured the intra-class FID (too few images per class, or G's labels "
                "were clusters or a single label).")
    generated = [min(r["intraClassFidGeneratedPerClass"]) for r in results]
    real = [min(r["intraClassFidRealPerClass"]) for r in results]
    return (f"Mean over classes of FID(class c's real images, samples generated for c); median "
            f"over seeds (min–max). Per class per trial: ≥ {min(generated)}–{max(generated)} "
            f"generated and ≥ {min(real)}–{max(real)} real images. Biased upward at so few "
            "images per class; compare only at equal counts. '—': not measured (too few images "
            "of a class, or G conditions on clusters or on one label).")


def classifier_table(trials: tuple[TrialResult, ...]) -> Table:
    """Table 3: one row per distinct F (one per label fraction in a seed sweep)."""
    seen: dict[str, TrialResult] = {}
    for trial in trials:
        key = trial.stages.get("labels", {}).get("key")
        if key is not None:
            seen.setdefault(key, trial)
    rows = []
    for trial in sorted(seen.values(), key=lambda t: (t.fraction or 0, t.method)):
        labels, pretrain = trial.results("labels"), trial.results("pretrain")
        accuracy = labels.get("accuracy", labels.get("matchedAccuracy"))
        held_out = labels.get("heldOutTop1")
        rows.append((_fraction(trial.fraction), pretrain.get("objective", "—"),
                     "—" if held_out is None else f"{100 * held_out:.1f}%",
                     "—" if accuracy is None else f"{100 * accuracy:.1f}%",
                     f"{labels.get('images', '—')}",
                     "—" if "probeAccuracy" not in pretrain
                     else f"{100 * pretrain['probeAccuracy']:.1f}%",
                     f"{pretrain.get('probeImages', '—')}"))
    header = ("label fraction", "F objective", "c_S2L top-1 (held-out)",
              "inferred-label accuracy (train)",
              "train images", "linear probe accuracy (held-out)", "probe images")
    note = ("Inferred labels are c_S2L(F(x)) for S²L (argmax against ground truth) or k-means "
            "clusters matched to classes; no training step reads the ground truth.")
    return Table("Accuracy of F's labels per label fraction (paper Table 3)", header,
                 tuple(rows), note)
