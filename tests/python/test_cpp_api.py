"""The C++ API: build the C++ tests against libfastsbert (no Python inside) and run them."""

from __future__ import annotations

import os
import subprocess

import pytest

from fastsbert._runtime import onnxruntime_library


@pytest.mark.slow
def test_cpp_tests_pass_on_an_exported_model(cpp_build, minilm_exported):
    env = dict(os.environ)
    env["FASTSBERT_TEST_MODEL"] = str(minilm_exported)
    env["FASTSBERT_ORT_LIBRARY"] = onnxruntime_library()
    # test_static_encoder needs a static model: test_static_model.py runs it with one.
    out = subprocess.run(["ctest", "--output-on-failure", "-E", "test_static_encoder"],
                         cwd=cpp_build, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "tests passed" in out.stdout and "Not Run" not in out.stdout
    assert "***Skipped" not in out.stdout, out.stdout
