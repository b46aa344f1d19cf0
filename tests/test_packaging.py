"""The package list in pyproject.toml is complete, and `operator/` never shadows the stdlib.

`operator/` has no `__init__.py` on purpose: a plain folder on `sys.path` (the repo root under
`python -m …`) is only a namespace portion, which always loses to the standard library's
`operator` module, while setuptools still installs it as `s3gan_operator`.
"""

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RENAMES = {"operator": "s3gan_operator", "workers": "s3gan_workers"}


def test_every_package_folder_is_listed():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = set()
    for top in ("s3gan", "operator", "workers"):
        for module in (REPO / top).rglob("*.py"):
            parts = module.parent.relative_to(REPO).parts
            if "__pycache__" not in parts:
                found.add(".".join((RENAMES.get(parts[0], parts[0]),) + parts[1:]))
    assert found == set(config["packages"])


def test_operator_folder_never_shadows_the_stdlib():
    assert not (REPO / "operator" / "__init__.py").exists()
    code = "import operator, s3gan_operator; assert hasattr(operator, 'itemgetter'); print('ok')"
    for cwd in (REPO, REPO / "tests"):
        out = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)
        assert out.stdout.strip() == "ok", out.stderr
    out = subprocess.run([sys.executable, "-m", "pip", "--version"], cwd=REPO, capture_output=True)
    assert out.returncode == 0, out.stderr
