"""tests/tools.py finds binaries in .tools/bin/ before PATH and skips, saying how to install,
when one is absent."""

from __future__ import annotations

import pytest

from tests import tools


def test_finds_a_binary_in_tools_bin_first(tmp_path, monkeypatch):
    fake = tmp_path / "helm"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setattr(tools, "TOOLS_BIN", tmp_path)
    assert tools.helm() == fake


def test_an_absent_binary_skips_with_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setattr(tools, "TOOLS_BIN", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match="make tools"):
        tools.promtool()
