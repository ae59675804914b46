"""The C++ API: build the C++ tests against libfastsbert (no Python inside) and run them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import fastsbert
from fastsbert._runtime import onnxruntime_library

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_cpp_tests_pass_on_an_exported_model(tmp_path_factory):
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake not on PATH")
    build = tmp_path_factory.mktemp("cpp-build")
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    subprocess.run([cmake, "-S", str(ROOT), "-B", str(build), *gen,
                    "-DFASTSBERT_BUILD_TESTS=ON", "-DFASTSBERT_BUILD_PYTHON=OFF"],
                   check=True, capture_output=True)
    subprocess.run([cmake, "--build", str(build), "--parallel", "2"], check=True,
                   capture_output=True)
    env = dict(os.environ)
    env["FASTSBERT_TEST_MODEL"] = str(fastsbert.Encoder().model_dir)
    env["FASTSBERT_ORT_LIBRARY"] = onnxruntime_library()
    out = subprocess.run(["ctest", "--output-on-failure"], cwd=build, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "tests passed" in out.stdout and "Not Run" not in out.stdout
    assert "***Skipped" not in out.stdout, out.stdout
