"""Data that does not fit a loss gives an error naming the loss and the expected data."""

from __future__ import annotations

import pytest
import torch
from fastsbert.training import InputExample
from fastsbert.training import losses as L
from fastsbert.training.losses import LossInputError
from fsb_training_helpers import TEXTS, features_for
from torch.utils.data import DataLoader


def test_empty_dataset(model):
    with pytest.raises(ValueError, match=r"empty.*CosineSimilarityLoss.*sentence_a, sentence_b"):
        model.fit(
            [(DataLoader([], batch_size=4), L.CosineSimilarityLoss(model))], show_progress_bar=False
        )


def test_float_label_for_softmax_loss(model):
    loss = L.SoftmaxLoss(model, num_labels=3)
    with pytest.raises(LossInputError, match=r"SoftmaxLoss.*integer"):
        loss(features_for(model, [TEXTS[:4], TEXTS[4:8]]), torch.tensor([0.5, 1.0, 2.0, 0.0]))


def test_class_out_of_range_for_softmax_loss(model):
    loss = L.SoftmaxLoss(model, num_labels=3)
    with pytest.raises(LossInputError, match=r"SoftmaxLoss.*num_labels=3"):
        loss(features_for(model, [TEXTS[:4], TEXTS[4:8]]), torch.tensor([0, 1, 2, 3]))


def test_missing_label(model):
    batch = [InputExample(texts=["a", "b"], label=0.5), InputExample(texts=["c", "d"])]
    with pytest.raises(ValueError, match="no label"):
        model.collate(batch)
    loss = L.CoSENTLoss(model)
    features, labels = model.collate(
        [InputExample(texts=["a", "b"]), InputExample(texts=["c", "d"])]
    )
    with pytest.raises(LossInputError, match=r"CoSENTLoss: the examples have no labels.*score"):
        loss(features, labels)


@pytest.mark.parametrize(
    "make,n_cols,pattern",
    [
        (
            lambda m: L.TripletLoss(m),
            2,
            r"TripletLoss: got 2 text column.*anchor, positive, negative",
        ),
        (lambda m: L.CosineSimilarityLoss(m), 3, r"CosineSimilarityLoss: got 3 text column"),
        (
            lambda m: L.MultipleNegativesRankingLoss(m),
            1,
            r"MultipleNegativesRankingLoss: got 1 text column.*at least 2",
        ),
        (
            lambda m: L.BatchHardTripletLoss(m),
            2,
            r"BatchHardTripletLoss: got 2 text column.*class label",
        ),
        (
            lambda m: L.MatryoshkaLoss(m, L.TripletLoss(m), [32, 16]),
            2,
            r"TripletLoss: got 2 text column",
        ),
    ],
)
def test_wrong_arity(model, make, n_cols, pattern):
    feats = features_for(model, [TEXTS[i * 4 : i * 4 + 4] for i in range(n_cols)])
    with pytest.raises(LossInputError, match=pattern):
        make(model)(feats, torch.tensor([0, 1, 0, 1]))


def test_label_count_mismatch(model):
    e = [torch.randn(4, 32), torch.randn(4, 32)]
    with pytest.raises(LossInputError, match=r"CoSENTLoss: got 3 labels"):
        L.CoSENTLoss(model).compute_loss_from_embeddings(e, torch.tensor([0.1, 0.2, 0.3]))


def test_nan_label(model):
    e = [torch.randn(4, 32), torch.randn(4, 32)]
    with pytest.raises(LossInputError, match="NaN"):
        L.CosineSimilarityLoss(model).compute_loss_from_embeddings(
            e, torch.tensor([0.1, float("nan"), 0.3, 0.2])
        )


def test_ragged_examples(model):
    with pytest.raises(ValueError, match="has 3 texts but the first example has 2"):
        model.collate([InputExample(texts=["a", "b"]), InputExample(texts=["a", "b", "c"])])


def test_wrappers_reject_non_embedding_losses(model):
    with pytest.raises(ValueError, match="ContrastiveTensionLoss"):
        L.MatryoshkaLoss(model, L.ContrastiveTensionLoss(model), [32, 16])
    with pytest.raises(ValueError, match="gradient caching"):
        L.AdaptiveLayerLoss(model, L.CachedMultipleNegativesRankingLoss(model))
