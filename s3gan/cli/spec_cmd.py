"""`s3gan spec validate` and `s3gan spec schema`."""

from __future__ import annotations

import argparse
import json
import sys

from s3gan.spec import SpecError, load_experiment
from s3gan.spec.model import Experiment


def register(commands: argparse._SubParsersAction) -> None:
    spec = commands.add_parser("spec", help="check experiment files, print their schema")
    sub = spec.add_subparsers(dest="spec_command", required=True, metavar="COMMAND")
    validate = sub.add_parser(
        "validate", help="check experiment files; exit 2 naming every bad field"
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="S3GANExperiment YAML files")
    validate.set_defaults(run=_validate)
    schema = sub.add_parser("schema", help="print the JSON schema of an S3GANExperiment document")
    schema.set_defaults(run=_schema)


def _validate(args: argparse.Namespace) -> int:
    failed = False
    for path in args.files:
        try:
            experiment = load_experiment(path)
        except SpecError as e:
            print(e, file=sys.stderr)
            failed = True
            continue
        s = experiment.spec
        print(
            f"{path}: ok — {experiment.metadata.name}: {s.method.value}, "
            f"{s.labels.fraction:g} labelled, {s.dataset.resolution}px, "
            f"global batch {s.training.global_batch} = {s.micro_batch} × {s.accumulation} "
            f"× {s.resources.workers} worker(s)"
        )
    return 2 if failed else 0


def schema_document() -> dict:
    return Experiment.model_json_schema(by_alias=True)


def _schema(args: argparse.Namespace) -> int:
    json.dump(schema_document(), sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0
