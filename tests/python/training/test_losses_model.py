"""Losses run end to end on a tiny model (dropout off): value and encoder gradients equal
sentence-transformers' loss of the same name on the same model weights and batch."""

from __future__ import annotations

import random

import pytest
import torch
from fastsbert.training import SentenceEncoder
from fastsbert.training import losses as L
from fsb_training_helpers import TEXTS, assert_same_grads, copies, features_for


def _st():
    return pytest.importorskip("sentence_transformers.sentence_transformer.losses")


def _run_both(ours, theirs, model, st_model, features, labels, seed=0):
    random.seed(seed)
    v1 = ours(copies(features), None if labels is None else labels.clone())
    random.seed(seed)
    v2 = theirs(copies(features), None if labels is None else labels.clone())
    torch.testing.assert_close(v1, v2, atol=1e-5, rtol=1e-5)
    v1.backward()
    v2.backward()
    assert_same_grads(model[0].auto_model, st_model[0].auto_model)
    return v1


PAIRS = [TEXTS[0:8], TEXTS[1:9]]
TRIPLES = [TEXTS[0:6], TEXTS[1:7], TEXTS[6:12]]


def test_softmax_loss(model, st_model):
    S = _st()
    ours = L.SoftmaxLoss(
        model, embedding_dimension=32, num_labels=3, concatenation_sent_multiplication=True
    )
    theirs = S.SoftmaxLoss(
        st_model, embedding_dimension=32, num_labels=3, concatenation_sent_multiplication=True
    )
    ours.classifier.load_state_dict(theirs.classifier.state_dict())
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 1, 0])
    _run_both(ours, theirs, model, st_model, features_for(model, PAIRS), labels)
    torch.testing.assert_close(ours.classifier.weight.grad, theirs.classifier.weight.grad)
    reps, logits = ours(features_for(model, PAIRS), None)
    assert logits.shape == (8, 3) and len(reps) == 2


@pytest.mark.parametrize("mini_batch_size", [3, 64])
def test_cached_mnrl_matches_reference_and_plain_loss(model, st_model, mini_batch_size, tiny_dir):
    S = _st()
    ours = L.CachedMultipleNegativesRankingLoss(model, mini_batch_size=mini_batch_size)
    theirs = S.CachedMultipleNegativesRankingLoss(st_model, mini_batch_size=mini_batch_size)
    feats = features_for(model, TRIPLES)
    value = _run_both(ours, theirs, model, st_model, feats, None)
    plain_model = SentenceEncoder(tiny_dir, device="cpu").eval()
    plain = L.MultipleNegativesRankingLoss(plain_model)(copies(feats), None)
    plain.backward()
    torch.testing.assert_close(value, plain.detach(), atol=1e-5, rtol=1e-5)
    assert_same_grads(model[0].auto_model, plain_model[0].auto_model)


def test_cached_mnrl_replays_dropout(tiny_dir):
    # In training mode the cached gradient must use the same dropout masks as the first pass:
    # then it equals the gradient of the plain loss under the same random state.
    torch.manual_seed(0)
    feats = features_for(SentenceEncoder(tiny_dir, device="cpu"), PAIRS)
    a = SentenceEncoder(tiny_dir, device="cpu").train()
    b = SentenceEncoder(tiny_dir, device="cpu").train()
    torch.manual_seed(5)
    va = L.CachedMultipleNegativesRankingLoss(a, mini_batch_size=64)(copies(feats), None)
    va.backward()
    # The plain loss embeds both columns in one pass; embed them one by one as the cached loss does.
    torch.manual_seed(5)
    embs = [b(f)["sentence_embedding"] for f in copies(feats)]
    vb = L.MultipleNegativesRankingLoss(b).compute_loss_from_embeddings(embs)
    vb.backward()
    torch.testing.assert_close(va, vb.detach())
    assert_same_grads(a[0].auto_model, b[0].auto_model)


def test_mega_batch_margin_cached(model, st_model):
    S = _st()
    ours = L.MegaBatchMarginLoss(model, mini_batch_size=3)
    theirs = S.MegaBatchMarginLoss(st_model, mini_batch_size=3)
    _run_both(ours, theirs, model, st_model, features_for(model, PAIRS), None)


@pytest.mark.parametrize("n_cols", [2, 3])
@pytest.mark.parametrize("strategy,margin", [("absolute", 0.0), ("relative", 0.1)])
def test_gist_embed(model, st_model, st_module, guide_dir, n_cols, strategy, margin):
    S = _st()
    guide = SentenceEncoder(guide_dir, device="cpu").eval()
    st_guide = st_module.SentenceTransformer(str(guide_dir), device="cpu").eval()
    # A tiny random guide gives near-uniform similarities; a low temperature keeps the loss informative.
    ours = L.GISTEmbedLoss(model, guide, temperature=0.05, margin_strategy=strategy, margin=margin)
    theirs = S.GISTEmbedLoss(
        st_model, st_guide, temperature=0.05, margin_strategy=strategy, margin=margin
    )
    assert ours.must_retokenize == theirs.must_retokenize
    _run_both(ours, theirs, model, st_model, features_for(model, TRIPLES[:n_cols]), None)


def test_contrastive_tension(model, st_model):
    S = _st()
    ours, theirs = L.ContrastiveTensionLoss(model), S.ContrastiveTensionLoss(st_model)
    ours.model1.eval()
    theirs.model1.eval()
    cols = [TEXTS[0:6], [TEXTS[0], TEXTS[7], TEXTS[8], TEXTS[3], TEXTS[9], TEXTS[10]]]
    feats = features_for(model, cols)
    _run_both(ours, theirs, model, st_model, feats, torch.tensor([1, 0, 0, 1, 0, 0]))
    assert_same_grads(ours.model1[0].auto_model, theirs.model1[0].auto_model)
    # Without labels, identical token sequences are the positives.
    model.zero_grad()
    st_model.zero_grad()
    _run_both(ours, theirs, model, st_model, feats, None)


def test_contrastive_tension_in_batch(model, st_model):
    S = _st()
    ours, theirs = (
        L.ContrastiveTensionLossInBatchNegatives(model),
        S.ContrastiveTensionLossInBatchNegatives(st_model),
    )
    ours.model1.eval()
    theirs.model1.eval()
    _run_both(ours, theirs, model, st_model, features_for(model, [TEXTS]), None)
    torch.testing.assert_close(ours.logit_scale.grad, theirs.logit_scale.grad)


def test_denoising_auto_encoder(model, st_model):
    S = _st()
    theirs = S.DenoisingAutoEncoderLoss(st_model, tie_encoder_decoder=True)
    ours = L.DenoisingAutoEncoderLoss(model, tie_encoder_decoder=True)
    # Same untied decoder weights (cross-attention, LM head transform) on both sides.
    _missing, unexpected = ours.decoder.load_state_dict(theirs.decoder.state_dict(), strict=False)
    assert not unexpected
    ours.decoder.eval()
    theirs.decoder.eval()
    shared = dict(model[0].auto_model.named_parameters())
    assert (
        ours.decoder.bert.embeddings.word_embeddings.weight
        is shared["embeddings.word_embeddings.weight"]
    )
    noisy = ["plane taking off", "man playing flute", "cheese pizza", "three chess"]
    original = [TEXTS[0], TEXTS[3], TEXTS[4], TEXTS[5]]
    _run_both(ours, theirs, model, st_model, features_for(model, [noisy, original]), None)


@pytest.mark.parametrize("inner", ["MultipleNegativesRankingLoss", "CoSENTLoss"])
def test_matryoshka(model, st_model, inner):
    S = _st()
    labels = (
        torch.tensor([0.1, 0.9, 0.3, 0.5, 0.7, 0.2, 0.8, 0.4]) if inner == "CoSENTLoss" else None
    )
    ours = L.MatryoshkaLoss(
        model, getattr(L, inner)(model), [32, 16, 8], matryoshka_weights=[1, 0.5, 0.25]
    )
    theirs = S.MatryoshkaLoss(
        st_model, getattr(S, inner)(st_model), [32, 16, 8], matryoshka_weights=[1, 0.5, 0.25]
    )
    _run_both(ours, theirs, model, st_model, features_for(model, PAIRS), labels)


def test_matryoshka_sampled_dims(model, st_model):
    S = _st()
    ours = L.MatryoshkaLoss(
        model, L.MultipleNegativesRankingLoss(model), [32, 16, 8, 4], n_dims_per_step=2
    )
    theirs = S.MatryoshkaLoss(
        st_model, S.MultipleNegativesRankingLoss(st_model), [32, 16, 8, 4], n_dims_per_step=2
    )
    _run_both(ours, theirs, model, st_model, features_for(model, PAIRS), None, seed=3)


def test_matryoshka_over_cached(model, st_model):
    S = _st()
    ours = L.MatryoshkaLoss(
        model, L.CachedMultipleNegativesRankingLoss(model, mini_batch_size=3), [32, 8]
    )
    theirs = S.MatryoshkaLoss(
        st_model, S.CachedMultipleNegativesRankingLoss(st_model, mini_batch_size=3), [32, 8]
    )
    _run_both(ours, theirs, model, st_model, features_for(model, PAIRS), None)


@pytest.mark.parametrize(
    "n_layers_per_step,weighting", [(-1, "uniform"), (1, "log"), (-1, "linear")]
)
def test_adaptive_layer(model, st_model, n_layers_per_step, weighting):
    S = _st()
    ours = L.AdaptiveLayerLoss(
        model,
        L.MultipleNegativesRankingLoss(model),
        n_layers_per_step=n_layers_per_step,
        layer_weighting=weighting,
    )
    theirs = S.AdaptiveLayerLoss(
        st_model,
        S.MultipleNegativesRankingLoss(st_model),
        n_layers_per_step=n_layers_per_step,
        layer_weighting=weighting,
    )
    _run_both(ours, theirs, model, st_model, features_for(model, PAIRS), None, seed=11)


def test_matryoshka_2d(model, st_model):
    S = _st()
    labels = torch.tensor([0.1, 0.9, 0.3, 0.5, 0.7, 0.2, 0.8, 0.4])
    ours = L.Matryoshka2dLoss(model, L.CoSENTLoss(model), [32, 16, 8])
    theirs = S.Matryoshka2dLoss(st_model, S.CoSENTLoss(st_model), [32, 16, 8])
    _run_both(ours, theirs, model, st_model, features_for(model, PAIRS), labels, seed=7)
