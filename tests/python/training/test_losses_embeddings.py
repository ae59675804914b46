"""Losses that are functions of the embeddings: value and gradient equal sentence-transformers'
loss of the same name on the same embeddings and labels."""

from __future__ import annotations

import pytest
import torch
from fastsbert.training import losses as L

B, D = 10, 16


def _st():
    return pytest.importorskip("sentence_transformers.sentence_transformer.losses")


def _embeddings(n_cols: int, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(B, D, generator=g) for _ in range(n_cols)]


def _scores():
    return torch.tensor([0.0, 0.2, 0.2, 0.4, 0.5, 0.5, 0.8, 1.0, 0.1, 0.9])


def _binary():
    return torch.tensor([1, 0, 1, 1, 0, 0, 1, 0, 1, 0])


def _classes():
    return torch.tensor([0, 0, 1, 1, 2, 2, 0, 1, 2, 3])


def _case_list():
    S = _st()
    from fastsbert.training.similarity import dot_score
    from sentence_transformers.sentence_transformer.losses import batch_hard_triplet as st_bht
    from sentence_transformers.sentence_transformer.losses.contrastive import (
        SiameseDistanceMetric as STSiamese,
    )
    from sentence_transformers.sentence_transformer.losses.triplet import (
        TripletDistanceMetric as STTriplet,
    )
    from sentence_transformers.util import dot_score as st_dot

    ours_bh = L.BatchHardTripletLossDistanceFunction
    st_bh = st_bht.BatchHardTripletLossDistanceFunction
    cases = [
        (
            "CosineSimilarityLoss",
            lambda m: L.CosineSimilarityLoss(m),
            lambda m: S.CosineSimilarityLoss(m),
            2,
            _scores,
        ),
        ("CoSENTLoss", lambda m: L.CoSENTLoss(m), lambda m: S.CoSENTLoss(m), 2, _scores),
        (
            "CoSENTLoss-scale5",
            lambda m: L.CoSENTLoss(m, scale=5.0),
            lambda m: S.CoSENTLoss(m, scale=5.0),
            2,
            _scores,
        ),
        ("AnglELoss-pairs", lambda m: L.AnglELoss(m), lambda m: S.AnglELoss(m), 2, _scores),
        ("AnglELoss-triplets", lambda m: L.AnglELoss(m), lambda m: S.AnglELoss(m), 3, lambda: None),
        (
            "ContrastiveLoss",
            lambda m: L.ContrastiveLoss(m),
            lambda m: S.ContrastiveLoss(m),
            2,
            _binary,
        ),
        (
            "ContrastiveLoss-euclidean-sum",
            lambda m: L.ContrastiveLoss(
                m, L.SiameseDistanceMetric.EUCLIDEAN, margin=6.0, size_average=False
            ),
            lambda m: S.ContrastiveLoss(m, STSiamese.EUCLIDEAN, margin=6.0, size_average=False),
            2,
            _binary,
        ),
        (
            "OnlineContrastiveLoss",
            lambda m: L.OnlineContrastiveLoss(m, margin=1.2),
            lambda m: S.OnlineContrastiveLoss(m, margin=1.2),
            2,
            _binary,
        ),
        (
            "OnlineContrastiveLoss-manhattan",
            lambda m: L.OnlineContrastiveLoss(m, L.SiameseDistanceMetric.MANHATTAN, margin=20.0),
            lambda m: S.OnlineContrastiveLoss(m, STSiamese.MANHATTAN, margin=20.0),
            2,
            _binary,
        ),
        (
            "MNRL-pairs",
            lambda m: L.MultipleNegativesRankingLoss(m),
            lambda m: S.MultipleNegativesRankingLoss(m),
            2,
            lambda: None,
        ),
        (
            "MNRL-hard-negatives",
            lambda m: L.MultipleNegativesRankingLoss(m),
            lambda m: S.MultipleNegativesRankingLoss(m),
            4,
            lambda: None,
        ),
        (
            "MNRL-dot-scale1",
            lambda m: L.MultipleNegativesRankingLoss(m, scale=1.0, similarity_fct=dot_score),
            lambda m: S.MultipleNegativesRankingLoss(m, scale=1.0, similarity_fct=st_dot),
            3,
            lambda: None,
        ),
        (
            "MNRL-all-directions",
            lambda m: L.MultipleNegativesRankingLoss(
                m, directions=("query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc")
            ),
            lambda m: S.MultipleNegativesRankingLoss(
                m, directions=("query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc")
            ),
            3,
            lambda: None,
        ),
        *[
            (
                f"MNRL-hardness-{mode}",
                lambda m, mode=mode: L.MultipleNegativesRankingLoss(
                    m, hardness_mode=mode, hardness_strength=2.0
                ),
                lambda m, mode=mode: S.MultipleNegativesRankingLoss(
                    m, hardness_mode=mode, hardness_strength=2.0
                ),
                3,
                lambda: None,
            )
            for mode in ("in_batch_negatives", "hard_negatives", "all_negatives")
        ],
        (
            "MNSRL",
            lambda m: L.MultipleNegativesSymmetricRankingLoss(m),
            lambda m: S.MultipleNegativesSymmetricRankingLoss(m),
            2,
            lambda: None,
        ),
        *[
            (
                f"TripletLoss-{name}",
                lambda m, name=name: L.TripletLoss(
                    m, L.TripletDistanceMetric[name], triplet_margin=1.0
                ),
                lambda m, name=name: S.TripletLoss(m, getattr(STTriplet, name), triplet_margin=1.0),
                3,
                lambda: None,
            )
            for name in ("EUCLIDEAN", "COSINE", "MANHATTAN")
        ],
        *[
            (
                f"{cls}-{dist}",
                lambda m, cls=cls, dist=dist: getattr(L, cls)(
                    m,
                    distance_metric=getattr(ours_bh, dist),
                    **({} if "Soft" in cls else {"margin": 2.0}),
                ),
                lambda m, cls=cls, dist=dist: getattr(S, cls)(
                    m,
                    distance_metric=getattr(st_bh, dist),
                    **({} if "Soft" in cls else {"margin": 2.0}),
                ),
                1,
                _classes,
            )
            for cls in (
                "BatchHardTripletLoss",
                "BatchSemiHardTripletLoss",
                "BatchAllTripletLoss",
                "BatchHardSoftMarginTripletLoss",
            )
            for dist in ("euclidean_distance", "cosine_distance")
        ],
        (
            "MarginMSELoss-1neg",
            lambda m: L.MarginMSELoss(m),
            lambda m: S.MarginMSELoss(m),
            3,
            lambda: torch.linspace(-2, 3, B),
        ),
        (
            "MarginMSELoss-scores",
            lambda m: L.MarginMSELoss(m),
            lambda m: S.MarginMSELoss(m),
            4,
            lambda: torch.randn(B, 3, generator=torch.Generator().manual_seed(3)),
        ),
        (
            "DistillKLDivLoss",
            lambda m: L.DistillKLDivLoss(m),
            lambda m: S.DistillKLDivLoss(m),
            4,
            lambda: torch.randn(B, 3, generator=torch.Generator().manual_seed(4)),
        ),
        (
            "DistillKLDivLoss-temps",
            lambda m: L.DistillKLDivLoss(m, temperature=2.0, teacher_temperature=0.5),
            lambda m: S.DistillKLDivLoss(m, temperature=2.0, teacher_temperature=0.5),
            3,
            lambda: torch.randn(B, 2, generator=torch.Generator().manual_seed(5)),
        ),
    ]
    return cases


CASE_IDS = [
    "CosineSimilarityLoss",
    "CoSENTLoss",
    "CoSENTLoss-scale5",
    "AnglELoss-pairs",
    "AnglELoss-triplets",
    "ContrastiveLoss",
    "ContrastiveLoss-euclidean-sum",
    "OnlineContrastiveLoss",
    "OnlineContrastiveLoss-manhattan",
    "MNRL-pairs",
    "MNRL-hard-negatives",
    "MNRL-dot-scale1",
    "MNRL-all-directions",
    "MNRL-hardness-in_batch_negatives",
    "MNRL-hardness-hard_negatives",
    "MNRL-hardness-all_negatives",
    "MNSRL",
    "TripletLoss-EUCLIDEAN",
    "TripletLoss-COSINE",
    "TripletLoss-MANHATTAN",
    *[
        f"{c}-{d}"
        for c in (
            "BatchHardTripletLoss",
            "BatchSemiHardTripletLoss",
            "BatchAllTripletLoss",
            "BatchHardSoftMarginTripletLoss",
        )
        for d in ("euclidean_distance", "cosine_distance")
    ],
    "MarginMSELoss-1neg",
    "MarginMSELoss-scores",
    "DistillKLDivLoss",
    "DistillKLDivLoss-temps",
]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_value_and_gradient_match_reference(case_id, model, st_model):
    cases = {c[0]: c for c in _case_list()}
    _, ours_factory, st_factory, n_cols, make_labels = cases[case_id]
    ours, theirs = ours_factory(model), st_factory(st_model)
    base = _embeddings(n_cols)
    e1 = [e.clone().requires_grad_() for e in base]
    e2 = [e.clone().requires_grad_() for e in base]
    labels = make_labels()
    v1 = ours.compute_loss_from_embeddings(e1, None if labels is None else labels.clone())
    v2 = theirs.compute_loss_from_embeddings(e2, None if labels is None else labels.clone())
    torch.testing.assert_close(v1, v2.to(v1.dtype), atol=1e-5, rtol=1e-5)
    assert v1.item() != 0.0, "degenerate case: a zero loss tests nothing"
    v1.backward()
    v2.backward()
    for a, b in zip(e1, e2):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-5, rtol=1e-4)


def test_mse_loss_matches_reference(model, st_model):
    S = _st()
    base = _embeddings(2)
    teacher = torch.randn(B, D, generator=torch.Generator().manual_seed(7))
    e1 = [e.clone().requires_grad_() for e in base]
    e2 = [e.clone().requires_grad_() for e in base]
    v1 = L.MSELoss(model).compute_loss_from_embeddings(e1, teacher)
    v2 = S.MSELoss(st_model).compute_loss_from_embeddings(e2, [teacher, teacher])
    torch.testing.assert_close(v1, v2)
    v1.backward()
    v2.backward()
    for a, b in zip(e1, e2):
        torch.testing.assert_close(a.grad, b.grad)


def test_mega_batch_margin_matches_reference(model, st_model):
    S = _st()
    base = _embeddings(2)
    e1 = [e.clone().requires_grad_() for e in base]
    e2 = [e.clone().requires_grad_() for e in base]
    v1 = L.MegaBatchMarginLoss(model).compute_loss_from_embeddings(e1)
    v2 = S.MegaBatchMarginLoss(st_model).calculate_loss([[e] for e in e2])
    torch.testing.assert_close(v1, v2)
    v1.backward()
    v2.backward()
    for a, b in zip(e1, e2):
        torch.testing.assert_close(a.grad, b.grad)


def test_symmetric_loss_equals_two_direction_mnrl(model):
    embs = _embeddings(2)
    a = L.MultipleNegativesSymmetricRankingLoss(model).compute_loss_from_embeddings(embs)
    b = L.MultipleNegativesRankingLoss(
        model, directions=("query_to_doc", "doc_to_query"), partition_mode="per_direction"
    ).compute_loss_from_embeddings(embs)
    torch.testing.assert_close(a, b)
