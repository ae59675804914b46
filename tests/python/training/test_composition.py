"""Models composed from fastsbert.training.models: saved directories load in
sentence-transformers with equal embeddings, and their exported graphs match it too.

One model per tiny architecture pools with all six modes at once (concatenated, in an
order the classic booleans cannot express), so each export covers every pooling mode;
the architectures differ in the head behind the pooling (Dense, residual Dense, two Dense
layers, Normalize)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from fastsbert.training import SentenceEncoder, models

st = pytest.importorskip("sentence_transformers")
pytest.importorskip("onnx")

from sentence_transformers.sentence_transformer.modules import Pooling as StPooling  # noqa: E402
from tiny_models import ARCHITECTURES, HIDDEN, MAX_SEQ_LENGTH, POOLING_MODES, hf_dir_of  # noqa: E402

MIN_COSINE = 0.99999
# Every mode, rotated out of the canonical order.
ALL_MODES = POOLING_MODES[3:] + POOLING_MODES[:3]


def _head(arch: str, dim: int) -> list[torch.nn.Module]:
    """The modules after Pooling: a different shape for each architecture."""
    torch.manual_seed(3)
    if arch == "bert":
        return [models.Dense(dim, 24), models.Normalize()]
    if arch == "roberta":
        return [models.Dense(dim, 24, use_residual=True)]
    if arch == "distilbert":
        return [
            models.Dense(dim, 48, activation_function=torch.nn.GELU()),
            models.Dense(48, 24, activation_function=None),
            models.Normalize(),
        ]
    if arch == "mpnet":
        return [models.Normalize()]
    return []


@pytest.fixture(scope="module")
def texts(stsb_test_sentences) -> list[str]:
    long_text = " ".join(stsb_test_sentences[:40])  # past max_seq_length
    return stsb_test_sentences[:60] + [long_text, "", "x"]


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))).min())


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_composed_model_equals_sentence_transformers(arch, tiny_st_model, tmp_path, texts):
    import fastsbert

    transformer = models.Transformer(
        hf_dir_of(tiny_st_model(arch, "mean")), max_seq_length=MAX_SEQ_LENGTH
    )
    assert transformer.get_word_embedding_dimension() == HIDDEN
    pooling = models.Pooling(transformer.get_word_embedding_dimension(), pooling_mode=ALL_MODES)
    head = _head(arch, pooling.get_sentence_embedding_dimension())
    model = SentenceEncoder(modules=[transformer, pooling, *head], device="cpu").eval()
    assert model.get_word_embedding_dimension() == HIDDEN
    dim = next((m.out_features for m in reversed(head) if isinstance(m, models.Dense)), HIDDEN * 6)
    assert model.get_sentence_embedding_dimension() == dim
    model.save(tmp_path / "model")

    reference = st.SentenceTransformer(str(tmp_path / "model"), device="cpu")
    assert [type(m).__name__ for m in reference] == [type(m).__name__ for m in model]
    assert reference.max_seq_length == MAX_SEQ_LENGTH
    theirs = reference.encode(texts, batch_size=16, convert_to_numpy=True)
    ours = model.encode(texts, batch_size=16)
    assert ours.shape == theirs.shape == (len(texts), dim)
    np.testing.assert_allclose(ours, theirs, atol=2e-5, rtol=1e-4)

    out = fastsbert.export(tmp_path / "model", tmp_path / "onnx")
    cfg = json.loads((out / "fastsbert.json").read_text())
    assert cfg["pooling"] == "+".join(ALL_MODES) and cfg["dim"] == dim
    assert cfg["normalize"] is isinstance(model[-1], models.Normalize)
    got = fastsbert.Encoder(out).encode(texts)
    assert got.shape == theirs.shape
    assert _min_cosine(got, theirs) >= MIN_COSINE
    np.testing.assert_allclose(
        np.linalg.norm(got, axis=1), np.linalg.norm(theirs, axis=1), rtol=1e-4
    )


def test_legacy_pooling_booleans_concatenate_in_sentence_transformers_order(tmp_path):
    """Several classic booleans: sentence-transformers concatenates cls, max, mean, ... in
    its own order, whatever the order of the keys in the file."""
    cfg = {
        "pooling_mode_mean_tokens": True,
        "pooling_mode_lasttoken": True,
        "pooling_mode_cls_token": True,
        "word_embedding_dimension": 8,
    }
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    ours = models.Pooling.load(tmp_path)
    theirs = StPooling.load(str(tmp_path))
    assert ours.modes == ("cls", "mean", "lasttoken")
    assert ours.pooling_mode == theirs.pooling_mode
    assert ours.get_sentence_embedding_dimension() == theirs.get_embedding_dimension() == 24


def test_pooling_modes_equal_sentence_transformers_on_left_padding():
    """The pooling math itself, on a left-padded batch (the first real token is not at 0)."""
    torch.manual_seed(0)
    tokens = torch.randn(3, 7, 8)
    mask = torch.tensor([[1] * 7, [0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 1, 1]])
    for mode in POOLING_MODES:
        ours = models.Pooling(8, mode)({"token_embeddings": tokens, "attention_mask": mask})
        theirs = StPooling(8, mode)({"token_embeddings": tokens, "attention_mask": mask})
        torch.testing.assert_close(
            ours["sentence_embedding"],
            theirs["sentence_embedding"],
            msg=lambda m, mode=mode: f"{mode}: {m}",
        )


def test_composition_errors_name_the_problem(tiny_st_model):
    transformer = models.Transformer(hf_dir_of(tiny_st_model("bert", "mean")))
    with pytest.raises(ValueError, match="unknown pooling mode 'median'"):
        models.Pooling(HIDDEN, "median")
    with pytest.raises(ValueError, match="must start with an input module"):
        SentenceEncoder(modules=[models.Pooling(HIDDEN)], device="cpu")
    with pytest.raises(ValueError, match="not both"):
        SentenceEncoder(
            hf_dir_of(tiny_st_model("bert", "mean")), modules=[transformer], device="cpu"
        )
    with pytest.raises(ValueError, match="no module .* produces a sentence embedding"):
        SentenceEncoder(modules=[transformer], device="cpu").get_sentence_embedding_dimension()


@pytest.mark.parametrize("arch", ["bert", "xlm-roberta"])
def test_encode_with_prompt_equals_sentence_transformers(arch, tiny_st_model, tmp_path):
    """A prompt is prepended; with include_prompt=False its tokens are left out of the pooling."""
    import shutil

    texts = ["A man is playing a flute.", "Someone plays a flute.", ""]
    src = shutil.copytree(tiny_st_model(arch, "mean", prompts={"query": "query: "}), tmp_path / "m")
    results = {}
    for include in (True, False):
        cfg_path = src / "1_Pooling" / "config.json"
        cfg_path.write_text(
            json.dumps({**json.loads(cfg_path.read_text()), "include_prompt": include})
        )
        ours = SentenceEncoder(src, device="cpu").encode(texts, prompt_name="query")
        theirs = st.SentenceTransformer(str(src), device="cpu").encode(texts, prompt_name="query")
        np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=1e-4)
        results[include] = ours
    assert not np.allclose(results[True], results[False], atol=1e-3)
