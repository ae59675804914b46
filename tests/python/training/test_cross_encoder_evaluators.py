"""Cross-encoder evaluators against sentence-transformers' on the same model and data."""

from __future__ import annotations

import csv

import pytest
from fastsbert.training import CrossEncoder
from fastsbert.training.cross_encoder import evaluation
from fsb_cross_encoder_helpers import DOCUMENTS, NEGATIVES, QUERIES
from fsb_training_helpers import DATA


def _msrp(n: int = 40):
    with open(DATA / "msrp" / "msr-para-test.tsv", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[1 : n + 1]
    return [[r[3], r[4]] for r in rows], [int(r[0]) for r in rows]


def _stsb(n: int = 40):
    with open(DATA / "stsb" / "stsb-en-dev.csv", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))[:n]
    return [[r[0], r[1]] for r in rows], [float(r[2]) / 5 for r in rows]


def _same(ours: dict, theirs: dict, ours_primary: str, theirs_primary: str):
    assert set(ours) == set(theirs)
    assert ours == pytest.approx(theirs, abs=1e-5)
    assert ours_primary == theirs_primary


def test_correlation(ce1_dir, st_module, tmp_path):
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderCorrelationEvaluator

    pairs, scores = _stsb()
    mine = evaluation.CrossEncoderCorrelationEvaluator(pairs, scores, name="sts")
    reference = CrossEncoderCorrelationEvaluator(pairs, scores, name="sts")
    got = mine(CrossEncoder(ce1_dir, device="cpu"), output_path=str(tmp_path / "a"))
    want = reference(
        st_module.CrossEncoder(str(ce1_dir), device="cpu"), output_path=str(tmp_path / "b")
    )
    _same(got, want, mine.primary_metric, reference.primary_metric)
    assert (tmp_path / "a" / mine.csv_file).read_text().splitlines()[0] == (
        tmp_path / "b" / reference.csv_file
    ).read_text().splitlines()[0]


@pytest.mark.parametrize("labels", [1, 3])
def test_classification(labels, ce1_dir, ce3_dir, st_module):
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderClassificationEvaluator

    path = ce1_dir if labels == 1 else ce3_dir
    pairs, gold = _msrp()
    if labels == 3:
        gold = [(g + i) % 3 for i, g in enumerate(gold)]
    mine = evaluation.CrossEncoderClassificationEvaluator(pairs, gold, name="msrp")
    reference = CrossEncoderClassificationEvaluator(pairs, gold, name="msrp")
    got = mine(CrossEncoder(path, device="cpu"))
    want = reference(st_module.CrossEncoder(str(path), device="cpu"))
    _same(got, want, mine.primary_metric, reference.primary_metric)


def test_reranking(ce1_dir, st_module):
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    samples = [
        {"query": q, "positive": [d], "negative": [n, *NEGATIVES[:2]]}
        for q, d, n in zip(QUERIES, DOCUMENTS, NEGATIVES)
    ]
    # A first-stage ranking that misses one positive, and a query with none among its documents.
    samples.append(
        {
            "query": QUERIES[0],
            "positive": [DOCUMENTS[0], DOCUMENTS[1]],
            "documents": [NEGATIVES[0], DOCUMENTS[0], NEGATIVES[1]],
        }
    )
    samples.append({"query": QUERIES[1], "positive": ["not there"], "negative": NEGATIVES[:3]})
    for at_k, documents_only in ((2, False), (10, True)):
        rows = (
            [s for s in samples if ("documents" in s) == documents_only]
            if documents_only
            else samples
        )
        for rerank_positives in (True, False):
            mine = evaluation.CrossEncoderRerankingEvaluator(
                rows, at_k=at_k, always_rerank_positives=rerank_positives
            )
            reference = CrossEncoderRerankingEvaluator(
                rows, at_k=at_k, always_rerank_positives=rerank_positives
            )
            got = mine(CrossEncoder(ce1_dir, device="cpu"))
            want = reference(st_module.CrossEncoder(str(ce1_dir), device="cpu"))
            _same(got, want, mine.primary_metric, reference.primary_metric)
