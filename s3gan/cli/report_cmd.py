"""`s3gan report RUN_OR_SWEEP_DIR [--out DIR] [--experiment FILE]`: the paper's tables and
figures from a run or sweep directory (a path or s3:// URI), as one self-contained HTML page
plus PNGs, CSVs and a Markdown file of the tables.

Tables 2/4/5: FID and IS per method × label fraction, median over seeds with the spread
(min–max); Table 3: the accuracy of F's labels per label fraction. Figures: FID/IS against G
step (Fig. 21), per-class samples (Figs. 17–20), latent interpolations (Figs. 9–13) and real vs
generated images per k-means cluster (Figs. 14–16, clustering runs). A sweep's trials carry
their experiment, and a run directory its ``experiment.yaml`` (written by ``s3gan run``);
``--experiment`` overrides a run's, or stands in where an older run directory has none.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "report", help="tables and figures of a run or sweep as HTML, PNG, CSV and Markdown")
    report.add_argument("source", metavar="RUN_OR_SWEEP_DIR", help="a path or s3:// URI")
    report.add_argument("--out", type=Path, metavar="DIR",
                        help="where the report goes (default: ./report-<directory name>)")
    report.add_argument("--experiment", type=Path, metavar="FILE",
                        help="the run's S3GANExperiment, for its label fraction and sampling "
                             "(default: the run directory's experiment.yaml)")
    report.set_defaults(run=_report)


def _report(args: argparse.Namespace) -> int:
    from s3gan.data.storage import StorageError
    from s3gan.report.build import build_report
    from s3gan.report.collect import ReportSourceError
    from s3gan.spec import SpecError, load_experiment

    out = args.out or Path(f"report-{args.source.rstrip('/').rsplit('/', 1)[-1]}")
    try:
        spec = load_experiment(args.experiment).spec if args.experiment else None
        report = build_report(args.source, out, spec)
    except (SpecError, ReportSourceError, StorageError) as e:
        print(e, file=sys.stderr)
        return 2
    print(f"report: {report.page}")
    for figure in report.figures:
        print(f"figure: {out / figure.name}  ({figure.caption})")
    return 0
