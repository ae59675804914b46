"""The installed C++ package: `cmake --install` output consumed the way a service would,
by a separate CMake project (examples/cpp, find_package(fastsbert)) and through pkg-config;
plus the single-source version and the ONNX Runtime API pin."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import fastsbert
import numpy as np
import pytest
from build_helpers import REPO_ROOT, cmake_generator, run_checked
from fastsbert import _core
from fastsbert._runtime import onnxruntime_library

TEXTS = [
    "A man is playing a flute.",
    "Someone plays a flute.",
    "Ein Mann spielt Flöte.",
    "naïve café – déjà vu 😀",
    "",
    "The quick brown fox jumps over the lazy dog. " * 40,  # cut to max_seq_length
    "How do I build the example service?",
    "Tabs\tinside the text stay part of it.",
    "東京は日本の首都です。",
    "a",
    "Sentence embeddings from C++ threads.",
    "One more line to keep several workers busy.",
]


@pytest.fixture(scope="module")
def installed_prefix(cpp_build, tmp_path_factory) -> Path:
    prefix = tmp_path_factory.mktemp("fastsbert-prefix")
    run_checked(["cmake", "--install", str(cpp_build), "--prefix", str(prefix)])
    return prefix


def pyproject_text() -> str:
    return (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def embed_service(installed_prefix, tmp_path_factory) -> Path:
    """examples/cpp built as its own project against the installed package."""
    build = tmp_path_factory.mktemp("example")
    run_checked(["cmake", "-S", str(REPO_ROOT / "examples" / "cpp"), "-B", str(build),
                 *cmake_generator(), f"-DCMAKE_PREFIX_PATH={installed_prefix}"])
    run_checked(["cmake", "--build", str(build)])
    return build / "embed_service"


@pytest.mark.slow
def test_example_service_answers_concurrent_requests(embed_service, minilm_exported):

    lines = [f"t{i}\t{t}" for i, t in enumerate(TEXTS)]
    lines.insert(3, "no tab on this line")
    stdin = "\n".join(lines).encode("utf-8") + b"\nbad\t\xff\xfe\n"
    env = dict(os.environ, FASTSBERT_ORT_LIBRARY=onnxruntime_library())
    out = subprocess.run([str(embed_service), str(minilm_exported), "--workers", "4",
                          "--batch", "3", "--threads", "1"],
                         input=stdin, capture_output=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr.decode()
    answers = [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]
    by_id = {a["id"]: a for a in answers}
    assert len(answers) == len(TEXTS) + 2 == len(by_id)
    assert "expected ID<TAB>TEXT" in by_id[""]["error"]
    assert "invalid UTF-8" in by_id["bad"]["error"]

    got = np.array([by_id[f"t{i}"]["embedding"] for i in range(len(TEXTS))], dtype=np.float64)
    want = fastsbert.Encoder(minilm_exported).encode(TEXTS).astype(np.float64)
    cos = (got * want).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    assert cos.min() >= 0.99999, cos


# Stands in for an ONNX Runtime older than the API fastsbert asks for.
OLD_RUNTIME = r"""
#include <cstdint>
struct OrtApiBase {
  const void* (*GetApi)(uint32_t version);
  const char* (*GetVersionString)();
};
static const void* get_api(uint32_t) { return nullptr; }
static const char* version_string() { return "1.20.1"; }
extern "C" const OrtApiBase* OrtGetApiBase() {
  static const OrtApiBase base{get_api, version_string};
  return &base;
}
"""


def test_example_service_names_both_versions_for_an_old_runtime(embed_service, minilm_exported,
                                                                 tmp_path):
    if shutil.which("c++") is None:
        pytest.skip("c++ not on PATH")
    src = tmp_path / "old_runtime.cpp"
    src.write_text(OLD_RUNTIME)
    lib = tmp_path / "libonnxruntime.so.1"
    run_checked(["c++", "-shared", "-fPIC", str(src), "-o", str(lib)])
    out = subprocess.run([str(embed_service), str(minilm_exported)], input=b"",
                         capture_output=True, env=dict(os.environ, FASTSBERT_ORT_LIBRARY=str(lib)))
    assert out.returncode == 1
    err = out.stderr.decode()
    assert "is version 1.20.1" in err and "needs onnxruntime 1.21 or newer" in err, err


def test_pkg_config_compiles_and_links_a_program(installed_prefix, tmp_path):
    if shutil.which("pkg-config") is None or shutil.which("c++") is None:
        pytest.skip("pkg-config or c++ not on PATH")
    env = dict(os.environ, PKG_CONFIG_PATH=str(installed_prefix / "lib" / "pkgconfig"))
    assert run_checked(["pkg-config", "--modversion", "fastsbert"], env=env).stdout.strip() \
        == fastsbert.__version__
    flags = run_checked(["pkg-config", "--cflags", "--libs", "fastsbert"], env=env).stdout.split()
    src = tmp_path / "version.cpp"
    src.write_text('#include <cstdio>\n#include <fastsbert/version.h>\n'
                   'int main() { std::puts(fastsbert::version()); }\n')
    exe = tmp_path / "version"
    run_checked(["c++", "-std=c++17", str(src), "-o", str(exe), *flags])
    lib_dir = next(f[2:] for f in flags if f.startswith("-L"))
    ran = run_checked([str(exe)], env=dict(os.environ, LD_LIBRARY_PATH=lib_dir))
    assert ran.stdout.strip() == fastsbert.__version__


def test_version_is_written_once():
    declared = re.search(r'^version = "([^"]+)"', pyproject_text(), re.M).group(1)
    assert fastsbert.__version__ == _core.version() == declared
    assert importlib.metadata.version("fastsbert") == declared
    init = (REPO_ROOT / "python" / "fastsbert" / "__init__.py").read_text(encoding="utf-8")
    assert declared not in init


def test_onnxruntime_minimum_matches_the_header_api():
    minimum = re.search(r'"onnxruntime>=1\.(\d+)"', pyproject_text()).group(1)
    cmake = (REPO_ROOT / "cmake" / "fastsbert_ort_headers.cmake").read_text(encoding="utf-8")
    api = re.search(r"set\(FASTSBERT_ORT_API_VERSION (\d+)\)", cmake).group(1)
    assert minimum == api


def ort_headers_of(build: Path) -> Path:
    cache = (build / "CMakeCache.txt").read_text(encoding="utf-8")
    return Path(re.search(r"^FASTSBERT_ORT_HEADERS_USED:INTERNAL=(.+)$", cache, re.M).group(1))


def configure_only(build: Path, *args: str, home: Path) -> subprocess.CompletedProcess:
    # A fresh HOME has no cached Debian headers, so only the sources asked for can serve.
    env = dict(os.environ, HOME=str(home))
    env.pop("FASTSBERT_ORT_INCLUDE_DIR", None)
    return subprocess.run(["cmake", "-S", str(REPO_ROOT), "-B", str(build), *cmake_generator(),
                           "-DFASTSBERT_BUILD_PYTHON=OFF", "-DFASTSBERT_BUILD_TESTS=OFF",
                           "-DFASTSBERT_CUDA=OFF", *args],
                          capture_output=True, text=True, env=env)


def copy_headers(src: Path, prefix: Path, api: int | None = None) -> Path:
    dest = prefix / "include" / "onnxruntime"
    shutil.copytree(src, dest)
    if api is not None:
        c_api = dest / "onnxruntime_c_api.h"
        c_api.write_text(re.sub(r"#define ORT_API_VERSION \d+", f"#define ORT_API_VERSION {api}",
                                c_api.read_text(encoding="utf-8")), encoding="utf-8")
    return dest


def test_configure_takes_installed_headers_without_fetching(cpp_build, tmp_path):
    """Headers installed under a prefix (as libonnxruntime-dev, conda or Homebrew put them)
    are found by find_path, and the Debian download never runs."""
    headers = copy_headers(ort_headers_of(cpp_build), tmp_path / "prefix")
    out = configure_only(tmp_path / "build", f"-DCMAKE_PREFIX_PATH={tmp_path / 'prefix'}",
                         home=tmp_path / "home")
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"(API 21) from the system: {headers}" in out.stdout
    assert "fetch_ort_headers" not in out.stdout + out.stderr
    assert ort_headers_of(tmp_path / "build") == headers


def test_configure_refuses_headers_older_than_the_minimum_api(cpp_build, tmp_path):
    headers = copy_headers(ort_headers_of(cpp_build), tmp_path / "old", api=20)
    out = configure_only(tmp_path / "build", f"-DFASTSBERT_ORT_INCLUDE_DIR={headers}",
                         home=tmp_path / "home")
    assert out.returncode != 0
    message = " ".join(out.stderr.split())  # CMake wraps and indents its messages
    assert "have API version '20'; fastsbert needs API 21 or newer" in message, out.stderr


def test_release_archive_download_demands_a_checksum(tmp_path):
    # Stops before any download: the pinned archive is only fetched with a SHA-256 to check.
    out = configure_only(tmp_path / "build", "-DFASTSBERT_ORT_FETCH_RELEASE=ON",
                         home=tmp_path / "home")
    assert out.returncode != 0
    assert "FASTSBERT_ORT_FETCH_RELEASE needs FASTSBERT_ORT_RELEASE_SHA256" in \
        " ".join(out.stderr.split()), out.stderr
