"""The committed type stubs of fastsbert._core are what pybind11-stubgen generates now."""

from __future__ import annotations

import subprocess
import sys

import pytest
from build_helpers import REPO_ROOT


def test_core_stubs_are_up_to_date(tmp_path):
    pytest.importorskip("pybind11_stubgen")
    subprocess.run(
        [sys.executable, "-m", "pybind11_stubgen", "fastsbert._core", "--exit-code", "-o", str(tmp_path)],
        check=True, capture_output=True,
    )
    fresh = (tmp_path / "fastsbert" / "_core.pyi").read_text(encoding="utf-8")
    committed = (REPO_ROOT / "python" / "fastsbert" / "_core.pyi").read_text(encoding="utf-8")
    assert committed == fresh, "python/fastsbert/_core.pyi is stale: run scripts/gen_stubs.sh"
