"""Evaluators give the numbers of sentence-transformers' evaluator of the same name on the
same model and data."""

from __future__ import annotations

import csv
import math

import pytest
import torch
from fastsbert.training import InputExample, evaluation
from fastsbert.training import losses as L
from fastsbert.training.data import read_csv, read_tsv
from fsb_training_helpers import DATA, TEXTS
from torch.utils.data import DataLoader


def _ev():
    return pytest.importorskip("sentence_transformers.sentence_transformer.evaluation")


def _close(ours: dict, theirs: dict, tol=1e-5):
    assert set(ours) == set(theirs), set(ours) ^ set(theirs)
    for k, v in ours.items():
        assert math.isclose(v, float(theirs[k]), rel_tol=tol, abs_tol=tol), (
            k,
            v,
            theirs[k],
        )


def _stsb(n=200):
    path = DATA / "stsb" / "stsb-en-test.csv"
    if not path.is_file():
        pytest.skip("shared data folder absent")
    return read_csv(path, [0, 1], 2, label_transform=lambda s: s / 5)[:n]


def _msrp(n=200):
    path = DATA / "msrp" / "msr-para-val.tsv"
    if not path.is_file():
        pytest.skip("shared data folder absent")
    return read_tsv(path, ["#1 String", "#2 String"], "Quality", has_header=True, label_type=int)[
        :n
    ]


@pytest.mark.parametrize("fns", [None, ["cosine", "euclidean", "manhattan", "dot"]])
def test_embedding_similarity(model, st_model, tmp_path, fns):
    ex = _stsb()
    kw = {"similarity_fn_names": fns, "name": "sts"}
    ours = evaluation.EmbeddingSimilarityEvaluator.from_input_examples(ex, **kw)
    theirs = _ev().EmbeddingSimilarityEvaluator(
        [e.texts[0] for e in ex], [e.texts[1] for e in ex], [e.label for e in ex], **kw
    )
    r1 = ours(model, output_path=str(tmp_path / "a"))
    r2 = theirs(st_model, output_path=str(tmp_path / "b"))
    _close(r1, r2)
    assert ours.primary_metric == theirs.primary_metric
    with open(tmp_path / "a" / ours.csv_file) as fa, open(tmp_path / "b" / theirs.csv_file) as fb:
        rows_a, rows_b = list(csv.reader(fa)), list(csv.reader(fb))
    assert rows_a[0] == rows_b[0]


@pytest.mark.parametrize("fns", [None, ["cosine", "euclidean", "manhattan", "dot"]])
def test_binary_classification(model, st_model, fns):
    ex = _msrp()
    s1, s2, y = [e.texts[0] for e in ex], [e.texts[1] for e in ex], [e.label for e in ex]
    r1 = evaluation.BinaryClassificationEvaluator(s1, s2, y, name="msrp", similarity_fn_names=fns)(
        model
    )
    r2 = _ev().BinaryClassificationEvaluator(s1, s2, y, name="msrp", similarity_fn_names=fns)(
        st_model
    )
    _close(r1, r2, tol=1e-4)


def test_binary_classification_thresholds_match_on_ties():
    import numpy as np
    from fastsbert.training.evaluation.binary_classification import best_accuracy, best_f1
    from sentence_transformers.sentence_transformer.evaluation import (
        BinaryClassificationEvaluator as Ref,
    )

    rng = np.random.default_rng(0)
    for greater in (True, False):
        scores = rng.integers(0, 6, size=60).astype(np.float32) / 5
        labels = rng.integers(0, 2, size=60)
        assert best_accuracy(scores, labels, greater) == pytest.approx(
            Ref.find_best_acc_and_threshold(scores, labels, greater)
        )
        assert best_f1(scores, labels, greater) == pytest.approx(
            Ref.find_best_f1_and_threshold(scores, labels, greater)
        )


def test_triplet(model, st_model):
    a, p, n = TEXTS[0:10:2] * 3, TEXTS[1:11:2] * 3, list(reversed(TEXTS[1:11:2])) * 3
    for kw in (
        {},
        {"similarity_fn_names": ["cosine", "dot", "euclidean", "manhattan"], "margin": 0.01},
    ):
        _close(
            evaluation.TripletEvaluator(a, p, n, name="t", **kw)(model),
            _ev().TripletEvaluator(a, p, n, name="t", **kw)(st_model),
        )


def test_information_retrieval(model, st_model):
    ex = _stsb(300)
    queries = {f"q{i}": e.texts[0] for i, e in enumerate(ex) if e.label >= 0.6}
    corpus = {f"d{i}": e.texts[1] for i, e in enumerate(ex)}
    relevant = {f"q{i}": {f"d{i}"} for i, e in enumerate(ex) if e.label >= 0.6}
    relevant[next(iter(relevant))].add("d0")
    kw = {
        "name": "ir",
        "accuracy_at_k": [1, 5],
        "precision_recall_at_k": [1, 10],
        "mrr_at_k": [10],
        "ndcg_at_k": [10],
        "map_at_k": [100],
    }
    r1 = evaluation.InformationRetrievalEvaluator(queries, corpus, relevant, **kw)(model)
    r2 = _ev().InformationRetrievalEvaluator(queries, corpus, relevant, **kw)(st_model)
    _close(r1, r2)
    assert r1["ir_cosine_ndcg@10"] > 0


def test_label_accuracy(model, st_model):
    ex = [InputExample(texts=[TEXTS[i], TEXTS[(i + 2) % 12]], label=i % 3) for i in range(12)]
    ours_loss = L.SoftmaxLoss(model, num_labels=3)
    from sentence_transformers.sentence_transformer.losses import SoftmaxLoss

    st_loss = SoftmaxLoss(st_model, embedding_dimension=32, num_labels=3)
    with torch.no_grad():
        ours_loss.classifier.load_state_dict(st_loss.classifier.state_dict())
    r1 = evaluation.LabelAccuracyEvaluator(
        DataLoader(ex, batch_size=5), name="nli", softmax_model=ours_loss
    )(model)
    r2 = _ev().LabelAccuracyEvaluator(
        DataLoader(ex, batch_size=5), name="nli", softmax_model=st_loss
    )(st_model)
    _close(r1, r2)
