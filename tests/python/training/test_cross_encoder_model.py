"""fastsbert.training.CrossEncoder against sentence-transformers' CrossEncoder: tokenisation,
predict, rank, the saved layout, and a short training run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from fastsbert.training import CrossEncoder, InputExample
from fastsbert.training.cross_encoder.losses import BinaryCrossEntropyLoss
from fsb_cross_encoder_helpers import DOCUMENTS, NEGATIVES, QUERIES
from torch.utils.data import DataLoader

PAIRS = [[q, d] for q in QUERIES for d in DOCUMENTS[:3]] + [["short", "a much longer text " * 40]]


def test_tokenize_matches_sentence_transformers(ce1_dir, st_module):
    ours = CrossEncoder(ce1_dir, device="cpu")
    theirs = st_module.CrossEncoder(str(ce1_dir), device="cpu")
    assert ours.max_length == theirs.max_seq_length == 128
    a, b = ours.tokenize(PAIRS), theirs.preprocess(PAIRS)
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        assert torch.equal(a[key], b[key]), key


@pytest.mark.parametrize("labels", [1, 3])
def test_predict_and_rank_match(labels, ce1_dir, ce3_dir, st_module):
    path = ce1_dir if labels == 1 else ce3_dir
    ours = CrossEncoder(path, device="cpu")
    theirs = st_module.CrossEncoder(str(path), device="cpu")
    assert ours.num_labels == theirs.num_labels == labels
    assert type(ours.activation_fn) is type(theirs.activation_fn)
    got, want = ours.predict(PAIRS, batch_size=4), theirs.predict(PAIRS, batch_size=4)
    assert got.shape == want.shape == ((len(PAIRS),) if labels == 1 else (len(PAIRS), labels))
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(ours.predict(PAIRS[0]), theirs.predict(PAIRS[0]), atol=1e-5)
    if labels == 1:
        got = ours.rank(QUERIES[0], DOCUMENTS, top_k=3, return_documents=True)
        want = theirs.rank(QUERIES[0], DOCUMENTS, top_k=3, return_documents=True)
        assert [h["corpus_id"] for h in got] == [h["corpus_id"] for h in want]
        assert [h["text"] for h in got] == [h["text"] for h in want]
        np.testing.assert_allclose([h["score"] for h in got], [h["score"] for h in want], atol=1e-5)
    else:
        got = ours.predict(PAIRS, apply_softmax=True)
        want = theirs.predict(PAIRS, apply_softmax=True)
        np.testing.assert_allclose(got, want, atol=1e-5)
        with pytest.raises(ValueError, match="one label"):
            ours.rank(QUERIES[0], DOCUMENTS)


def test_new_head_defaults_and_save_layout(ce_encoder_dir, tmp_path, st_module):
    fresh = CrossEncoder(ce_encoder_dir, device="cpu")
    assert fresh.num_labels == 1 and isinstance(fresh.activation_fn, torch.nn.Sigmoid)
    model = CrossEncoder(
        ce_encoder_dir, num_labels=1, max_length=40, activation_fn=torch.nn.Identity(), device="cpu"
    )
    model.save(tmp_path / "saved")
    settings = json.loads((tmp_path / "saved" / "config_sentence_transformers.json").read_text())
    assert settings["model_type"] == "CrossEncoder"
    assert settings["activation_fn"] == st_module.util.fullname(torch.nn.Identity())
    config = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert config["sentence_transformers"]["activation_fn"] == settings["activation_fn"]
    theirs = st_module.CrossEncoder(str(tmp_path / "saved"), device="cpu")
    assert isinstance(theirs.activation_fn, torch.nn.Identity)
    assert theirs.max_seq_length == 40
    np.testing.assert_allclose(model.predict(PAIRS), theirs.predict(PAIRS), atol=1e-5)
    again = CrossEncoder(tmp_path / "saved", device="cpu")
    assert isinstance(again.activation_fn, torch.nn.Identity) and again.max_length == 40


def test_bad_input(ce1_dir, tmp_path):
    model = CrossEncoder(ce1_dir, device="cpu")
    with pytest.raises(ValueError, match="pair 0"):
        model.predict([["only one text"]])
    with pytest.raises(ValueError, match="batch_size"):
        model.predict(PAIRS, batch_size=0)
    with pytest.raises(FileNotFoundError):
        CrossEncoder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        CrossEncoder(tmp_path / "empty")
    with pytest.raises(ValueError, match="num_labels"):
        CrossEncoder(ce1_dir, num_labels=0)


def test_train_save_load_in_sentence_transformers(ce_encoder_dir, tmp_path, st_module):
    """A few BinaryCrossEntropyLoss steps move the scores the right way; the saved model
    gives sentence-transformers the same predictions."""
    torch.manual_seed(0)
    model = CrossEncoder(ce_encoder_dir, device="cpu")
    examples = [InputExample(texts=[q, d], label=1.0) for q, d in zip(QUERIES, DOCUMENTS)]
    examples += [InputExample(texts=[q, n], label=0.0) for q, n in zip(QUERIES, NEGATIVES)]
    positives, negatives = [e.texts for e in examples[:5]], [e.texts for e in examples[5:]]
    before = model.predict(positives).mean() - model.predict(negatives).mean()
    loader = DataLoader(examples, batch_size=5, shuffle=True)
    result = model.fit(
        train_objectives=[(loader, BinaryCrossEntropyLoss(model))],
        epochs=8,
        scheduler="ConstantLR",
        optimizer_params={"lr": 5e-3},
        show_progress_bar=False,
        seed=0,
    )
    assert result["global_step"] == 16
    after = model.predict(positives).mean() - model.predict(negatives).mean()
    assert after > before + 0.005
    assert model.predict(positives).min() > model.predict(negatives).max()
    model.save(tmp_path / "trained")
    theirs = st_module.CrossEncoder(str(tmp_path / "trained"), device="cpu")
    np.testing.assert_allclose(model.predict(PAIRS), theirs.predict(PAIRS), atol=1e-5)


def test_fit_with_listwise_and_cached_losses(ce1_dir):
    """Listwise examples ([query, [documents]] with a label per document) and the gradient
    cache both go through the trainer and change the weights."""
    from fastsbert.training.cross_encoder.losses import (
        CachedMultipleNegativesRankingLoss,
        ListNetLoss,
    )

    model = CrossEncoder(ce1_dir, device="cpu")
    listwise = [
        InputExample(texts=[q, [d, n]], label=[1, 0])
        for q, d, n in zip(QUERIES, DOCUMENTS, NEGATIVES)
    ]
    listwise[0] = InputExample(
        texts=[QUERIES[0], [DOCUMENTS[0], NEGATIVES[0], NEGATIVES[1]]], label=[2, 0, 1]
    )
    triplets = [InputExample(texts=[q, d, n]) for q, d, n in zip(QUERIES, DOCUMENTS, NEGATIVES)]
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    result = model.fit(
        train_objectives=[
            (DataLoader(listwise, batch_size=3), ListNetLoss(model)),
            (
                DataLoader(triplets, batch_size=5),
                CachedMultipleNegativesRankingLoss(model, mini_batch_size=4),
            ),
        ],
        epochs=1,
        warmup_steps=0,
        show_progress_bar=False,
    )
    assert result["global_step"] == 2 and np.isfinite(result["training_loss"])
    changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    assert any("classifier" in n for n in changed) and any("encoder" in n for n in changed)


def test_collate_shapes_and_errors():
    from fastsbert.training.cross_encoder.collate import collate_pairs
    from fastsbert.training.data.collate import collate_examples

    columns, labels = collate_pairs(
        [InputExample(texts=["q", "d"], label=1), InputExample(texts=["r", "e"], label=0)]
    )
    assert columns == [["q", "r"], ["d", "e"]] and labels.dtype == torch.long
    columns, labels = collate_pairs(
        [
            InputExample(texts=["q", ["a", "b"]], label=[1, 0]),
            InputExample(texts=["r", ["c"]], label=[2]),
        ]
    )
    assert columns == [["q", "r"], [["a", "b"], ["c"]]]
    assert [x.tolist() for x in labels] == [[1.0, 0.0], [2.0]]
    with pytest.raises(ValueError, match="single text in others"):
        collate_pairs(
            [InputExample(texts=["q", ["a"]], label=[1]), InputExample(texts=["r", "c"], label=1)]
        )
    with pytest.raises(ValueError, match="list of numbers"):
        collate_pairs([InputExample(texts=["q", ["a"]], label="x")])
    with pytest.raises(ValueError, match="only the listwise cross-encoder losses"):
        collate_examples([InputExample(texts=["q", ["a"]])], lambda texts: {})
    with pytest.raises(TypeError, match="lists of strings"):
        InputExample(texts=["q", ["a", 3]])
