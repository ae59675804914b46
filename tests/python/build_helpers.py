"""Paths and commands the tests share: the repository root, and running a build step
so that a failure shows its output. A plain module (not conftest), so that a test file
imports it by name whichever conftest pytest loaded last."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_checked(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Runs cmd, capturing its output; fails the test with that output when it fails."""
    out = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    command = " ".join(map(str, cmd))
    assert out.returncode == 0, f"{command} exited {out.returncode}:\n{out.stdout}\n{out.stderr}"
    return out


def cmake_generator() -> list[str]:
    return ["-G", "Ninja"] if shutil.which("ninja") else []
