"""The external binaries some tests drive, found where `make tools` (scripts/system-deps.sh) puts
them: helm and kubectl in the repository's .tools/bin/, promtool and the Prometheus server from
Debian's prometheus package on PATH. A test asking for one that is absent is skipped, saying how
to install it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TOOLS_BIN = REPO / ".tools" / "bin"
INSTALL = "install it with `make tools` (scripts/system-deps.sh all)"


def binary(name: str) -> Path:
    """The path of `name` from .tools/bin/ or PATH, or skip the calling test."""
    found = shutil.which(name, path=str(TOOLS_BIN)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not in {TOOLS_BIN} nor on PATH: {INSTALL}")
    return Path(found)


def helm() -> Path:
    return binary("helm")


def kubectl() -> Path:
    return binary("kubectl")


def promtool() -> Path:
    return binary("promtool")


def prometheus() -> Path:
    """Debian's Prometheus server (the same package as promtool)."""
    return binary("prometheus")
