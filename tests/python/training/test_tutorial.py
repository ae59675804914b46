"""The sentence-transformers tutorial's steps, in fastsbert: compose a model from a plain
encoder, train it briefly on (sentence pair, score) data, save it, export it, and encode
with the exported graph; sentence-transformers loading the saved directory agrees."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from fastsbert.training import InputExample, SentenceEncoder, losses, models
from torch.utils.data import DataLoader

st = pytest.importorskip("sentence_transformers")
pytest.importorskip("onnx")

from tiny_models import hf_dir_of  # noqa: E402


def _stsb_pairs(data_dir, n: int) -> list[InputExample]:
    with open(data_dir / "stsb" / "stsb-en-train.csv", newline="", encoding="utf-8") as fh:
        rows = [r for _, r in zip(range(n), csv.reader(fh))]
    return [InputExample(texts=[a, b], label=float(score) / 5.0) for a, b, score, *_ in rows]


def test_compose_train_save_export_encode(tiny_st_model, data_dir, tmp_path, stsb_test_sentences):
    import fastsbert

    # Compose: an encoder and a pooling over its token embeddings.
    word_embedding_model = models.Transformer(
        str(hf_dir_of(tiny_st_model("bert", "mean"))), max_seq_length=32
    )
    pooling_model = models.Pooling(word_embedding_model.get_word_embedding_dimension())
    model = SentenceEncoder(modules=[word_embedding_model, pooling_model], device="cpu")
    texts = stsb_test_sentences[:40]
    before = model.encode(texts)

    # Train: (sentence pair, similarity score in [0, 1]) with CosineSimilarityLoss.
    train_examples = _stsb_pairs(data_dir, 32)
    train_dataloader = DataLoader(train_examples, shuffle=True, batch_size=8)
    train_loss = losses.CosineSimilarityLoss(model)
    torch.manual_seed(0)
    model.fit(
        train_objectives=[(train_dataloader, train_loss)],
        epochs=1,
        warmup_steps=1,
        optimizer_params={"lr": 1e-3},
        show_progress_bar=False,
    )
    after = model.encode(texts)
    assert not np.allclose(before, after, atol=1e-4), "training left the model unchanged"

    # Save, and load the directory with sentence-transformers.
    model.save(tmp_path / "trained")
    reference = st.SentenceTransformer(str(tmp_path / "trained"), device="cpu")
    theirs = reference.encode(texts, convert_to_numpy=True)
    np.testing.assert_allclose(after, theirs, atol=2e-5, rtol=1e-4)

    # Export and encode with fastsbert.
    out = fastsbert.export(tmp_path / "trained", tmp_path / "onnx")
    got = fastsbert.Encoder(out).encode(texts)
    cos = (got * theirs).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(theirs, axis=1))
    assert cos.min() >= 0.99999
    np.testing.assert_allclose(
        np.linalg.norm(got, axis=1), np.linalg.norm(theirs, axis=1), rtol=1e-4
    )
