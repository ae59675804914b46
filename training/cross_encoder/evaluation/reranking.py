"""CrossEncoderRerankingEvaluator: MAP, MRR@k and NDCG@k of reranking candidate lists."""

from __future__ import annotations

import numpy as np

from ...evaluation.base import Evaluator


def _ranking_metrics(relevant: list[int], scores: np.ndarray, at_k: int, n_positives: int):
    """(MRR@k, NDCG@k, AP) of one query: binary ``relevant`` per candidate, predicted
    ``scores``; ``n_positives`` counts positives missing from the candidates too (they lower
    the ideal DCG and the AP)."""
    from sklearn.metrics import average_precision_score, dcg_score  # slow to import

    found = sum(relevant)
    if found == 0:
        return 0.0, 0.0, 0.0
    n_positives = max(n_positives, found)
    order = np.argsort(scores)[::-1]
    mrr = next((1.0 / (r + 1) for r, i in enumerate(order[:at_k]) if relevant[i]), 0.0)
    dcg = dcg_score([relevant], [scores], k=at_k) if len(relevant) > 1 else relevant[0]
    ideal = np.sum(1.0 / np.log2(np.arange(2, min(n_positives, at_k) + 2)))
    ap = average_precision_score(relevant, scores) * (found / n_positives)
    return mrr, dcg / ideal, ap


class CrossEncoderRerankingEvaluator(Evaluator):
    """Reranks each sample's candidates by the model's score.

    A sample is ``{"query", "positive": [..], "negative": [..]}`` (candidates: positives then
    negatives) or ``{"query", "positive": [..], "documents": [..]}`` (a first-stage ranking;
    with ``always_rerank_positives`` the positives missing from it are added, and the
    metrics of the given order are reported as ``base_*``).

    Returns ``{"map", "mrr@k", "ndcg@k"}`` (prefixed by ``name``); ``primary_metric`` is
    ``ndcg@k``. A sample without any positive among its candidates scores 0.
    """

    def __init__(
        self,
        samples: list[dict],
        at_k: int = 10,
        always_rerank_positives: bool = True,
        name: str = "",
        batch_size: int = 64,
        show_progress_bar: bool = False,
        write_csv: bool = True,
    ) -> None:
        if isinstance(samples, dict):
            samples = list(samples.values())
        for i, s in enumerate(samples):
            if "query" not in s or "positive" not in s:
                raise ValueError(
                    f"CrossEncoderRerankingEvaluator: sample {i} needs 'query' and 'positive'"
                )
            if ("negative" in s) == ("documents" in s):
                raise ValueError(
                    f"CrossEncoderRerankingEvaluator: sample {i} needs exactly one of 'negative' and 'documents'"
                )
        self.samples = list(samples)
        self.at_k = at_k
        self.always_rerank_positives = always_rerank_positives
        self.name = name
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.write_csv = write_csv
        self.csv_file = (
            "CrossEncoderRerankingEvaluator"
            + (f"_{name}" if name else "")
            + f"_results_@{at_k}.csv"
        )
        self.csv_headers = ("epoch", "steps", "MAP", f"MRR@{at_k}", f"NDCG@{at_k}")
        self.primary_metric = f"ndcg@{at_k}"

    def __call__(
        self, model, output_path=None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        base, plans, pairs = [], [], []
        for sample in self.samples:
            positives = sample["positive"]
            positives = [positives] if isinstance(positives, str) else list(positives)
            if "documents" in sample:
                documents = list(sample["documents"])
                given = [int(d in positives) for d in documents]
                base.append(
                    _ranking_metrics(
                        given, np.arange(len(documents), 0, -1), self.at_k, len(positives)
                    )
                )
                if self.always_rerank_positives:
                    candidates = positives + [d for d in documents if d not in positives]
                    relevant = [1] * len(positives) + [0] * (len(candidates) - len(positives))
                else:
                    candidates, relevant = documents, given
            else:
                candidates = positives + list(sample["negative"])
                relevant = [1] * len(positives) + [0] * len(sample["negative"])
            if sum(relevant) == 0:
                plans.append(None)
                continue
            plans.append((relevant, len(positives)))
            pairs += [[sample["query"], d] for d in candidates]
        scores = (
            model.predict(
                pairs, batch_size=self.batch_size, show_progress_bar=self.show_progress_bar
            )
            if pairs
            else np.array([])
        )
        per_query, offset = [], 0
        for plan in plans:
            if plan is None:
                per_query.append((0.0, 0.0, 0.0))
                continue
            relevant, n_positives = plan
            per_query.append(
                _ranking_metrics(
                    relevant, scores[offset : offset + len(relevant)], self.at_k, n_positives
                )
            )
            offset += len(relevant)
        mrr, ndcg, ap = (float(np.mean(col)) for col in zip(*per_query))
        metrics = {"map": ap, f"mrr@{self.at_k}": mrr, f"ndcg@{self.at_k}": ndcg}
        if base:
            b_mrr, b_ndcg, b_ap = (float(np.mean(col)) for col in zip(*base))
            metrics.update(
                {"base_map": b_ap, f"base_mrr@{self.at_k}": b_mrr, f"base_ndcg@{self.at_k}": b_ndcg}
            )
        self.append_csv(output_path, [epoch, steps, ap, mrr, ndcg])
        return self.prefix(metrics)
