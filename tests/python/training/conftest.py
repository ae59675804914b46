"""Fixtures: a tiny random BERT sentence encoder on disk, and the same model loaded by
sentence-transformers (the reference implementation). Helpers live in fsb_training_helpers."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from fastsbert.training import SentenceEncoder
from fsb_training_helpers import TEXTS, build_tiny


@pytest.fixture(scope="session", autouse=True)
def _threads():
    # Tests are small; one thread avoids oversubscription on a shared 2-core machine.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def guide_dir(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("guide") / "model", seed=1, normalize=True)


@pytest.fixture
def model(tiny_dir) -> SentenceEncoder:
    m = SentenceEncoder(tiny_dir, device="cpu")
    m.eval()
    return m


@pytest.fixture(scope="session")
def st_module():
    return pytest.importorskip("sentence_transformers")


@pytest.fixture
def st_model(st_module, tiny_dir):
    m = st_module.SentenceTransformer(str(tiny_dir), device="cpu")
    m.eval()
    return m


@pytest.fixture
def texts():
    return list(TEXTS)


@pytest.fixture(scope="session")
def ce_encoder_dir(tmp_path_factory):
    from fsb_cross_encoder_helpers import build_encoder

    return build_encoder(tmp_path_factory.mktemp("ce") / "encoder")


@pytest.fixture(scope="session")
def ce1_dir(ce_encoder_dir, st_module):
    from fsb_cross_encoder_helpers import build_st_cross_encoder

    return build_st_cross_encoder(ce_encoder_dir, ce_encoder_dir.with_name("ce1"), 1)


@pytest.fixture(scope="session")
def ce3_dir(ce_encoder_dir, st_module):
    from fsb_cross_encoder_helpers import build_st_cross_encoder

    return build_st_cross_encoder(ce_encoder_dir, ce_encoder_dir.with_name("ce3"), 3, seed=2)
