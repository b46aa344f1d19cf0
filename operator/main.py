"""``s3gan-operator``: the kopf operator with this package's handlers.

Arguments go to ``kopf run`` unchanged (``s3gan-operator --standalone --all-namespaces``,
``--namespace research``, ``--verbose``); the operator's own settings come from its environment
(``s3gan_operator.settings``) and are checked before anything starts. Unless ``--liveness`` is
given, kopf serves its health probe at ``http://0.0.0.0:8080/healthz``.
"""

from __future__ import annotations

import os
import sys

from kopf import cli
from s3gan_operator.settings import OperatorSettings, SettingsError

LIVENESS = "http://0.0.0.0:8080/healthz"


def kopf_arguments(argv: list[str]) -> list[str]:
    given = any(a in ("-L", "--liveness") or a.startswith("--liveness=") for a in argv)
    return ["run", "--module", "s3gan_operator.handlers", *argv,
            *([] if given else [f"--liveness={LIVENESS}"])]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        OperatorSettings.from_env(os.environ)
    except SettingsError as e:
        print(f"s3gan-operator: {e}", file=sys.stderr)
        return 2
    return cli.main.main(args=kopf_arguments(argv), prog_name="s3gan-operator") or 0


if __name__ == "__main__":
    sys.exit(main())
