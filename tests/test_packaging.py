"""The package list in pyproject.toml is complete, and `operator/` never shadows the stdlib."""

import operator
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RENAMES = {"operator": "s3gan_operator", "workers": "s3gan_workers"}


def test_every_package_folder_is_listed():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = set()
    for top in ("s3gan", "operator", "workers"):
        for init in (REPO / top).rglob("__init__.py"):
            parts = init.parent.relative_to(REPO).parts
            found.add(".".join((RENAMES.get(parts[0], parts[0]),) + parts[1:]))
    assert found == listed


def test_stdlib_operator_is_not_shadowed():
    assert hasattr(operator, "itemgetter")
    import s3gan_operator

    assert Path(s3gan_operator.__file__).parent.name == "operator"
