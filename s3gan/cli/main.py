"""`s3gan`: one entry point; each command group registers itself and imports its heavy
dependencies (torch, Ray) only when it runs, so `s3gan --help` and `s3gan spec` stay light."""

from __future__ import annotations

import argparse
import os
import sys

from s3gan import __version__
from s3gan.cli import (
    data_cmd,
    model_cmd,
    pretrain_cmd,
    report_cmd,
    run_cmd,
    sample_cmd,
    spec_cmd,
    sweep_cmd,
    train_cmd,
)

COMMAND_GROUPS = (spec_cmd, data_cmd, model_cmd, pretrain_cmd, train_cmd, sample_cmd, run_cmd,
                  sweep_cmd, report_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s3gan",
        description="Class-conditional GANs with few labels (S³GAN family, Lucic et al. 2019).",
    )
    parser.add_argument("--version", action="version", version=f"s3gan {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


BROKEN_PIPE = 128 + 13  # as a shell reports a process killed by SIGPIPE


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except BrokenPipeError:
        # The reader went away (`s3gan spec schema | head`): nothing more to say, and nothing
        # left in the buffer to fail again at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
