"""InformationRetrievalEvaluator: rank a corpus for each query and score the ranking."""

from __future__ import annotations

import numpy as np
import torch

from ..similarity import SIMILARITY_FUNCTIONS
from .base import Evaluator


def dcg(relevances: list[int], k: int) -> float:
    return float(sum(rel / np.log2(i + 2) for i, rel in enumerate(relevances[:k])))


class InformationRetrievalEvaluator(Evaluator):
    """Accuracy@k, Precision@k, Recall@k, MRR@k, NDCG@k and MAP@k of the top results for
    each query that has relevant documents. Ties in score are broken by corpus id.

    Args:
        queries: {query_id: text}; corpus: {doc_id: text};
        relevant_docs: {query_id: set of relevant doc_ids}.
        score_functions: {name: matrix similarity}; default: the model's similarity.

    Returns ``{"cosine_accuracy@1", ..., "cosine_ndcg@10", "cosine_mrr@10", "cosine_map@100"}``.
    """

    def __init__(
        self,
        queries: dict[str, str],
        corpus: dict[str, str],
        relevant_docs: dict[str, set[str]],
        corpus_chunk_size: int = 50000,
        mrr_at_k: list[int] = (10,),
        ndcg_at_k: list[int] = (10,),
        accuracy_at_k: list[int] = (1, 3, 5, 10),
        precision_recall_at_k: list[int] = (1, 3, 5, 10),
        map_at_k: list[int] = (100,),
        show_progress_bar: bool = False,
        batch_size: int = 32,
        name: str = "",
        write_csv: bool = True,
        score_functions: dict | None = None,
        main_score_function: str | None = None,
    ) -> None:
        self.queries_ids = [q for q in queries if q in relevant_docs and len(relevant_docs[q]) > 0]
        if not self.queries_ids:
            raise ValueError("InformationRetrievalEvaluator: no query has relevant documents")
        self.queries = [queries[q] for q in self.queries_ids]
        self.corpus_ids = list(corpus)
        self.corpus = [corpus[c] for c in self.corpus_ids]
        self.relevant_docs = relevant_docs
        self.corpus_chunk_size = corpus_chunk_size
        self.mrr_at_k, self.ndcg_at_k = list(mrr_at_k), list(ndcg_at_k)
        self.accuracy_at_k, self.precision_recall_at_k, self.map_at_k = (
            list(accuracy_at_k),
            list(precision_recall_at_k),
            list(map_at_k),
        )
        self.show_progress_bar = show_progress_bar
        self.batch_size = batch_size
        self.name = name
        self.write_csv = write_csv
        self.score_functions = score_functions
        self.main_score_function = main_score_function
        self.csv_file = (
            "Information-Retrieval_evaluation" + (f"_{name}" if name else "") + "_results.csv"
        )

    def _functions(self, model) -> dict:
        if self.score_functions:
            return dict(sorted(self.score_functions.items()))
        name = getattr(model, "similarity_fn_name", "cosine") or "cosine"
        return {name: SIMILARITY_FUNCTIONS[name]}

    def _top_hits(self, model, functions: dict) -> dict[str, list[list[tuple[float, str]]]]:
        max_k = max(
            self.mrr_at_k
            + self.ndcg_at_k
            + self.accuracy_at_k
            + self.precision_recall_at_k
            + self.map_at_k
        )
        kw = {
            "batch_size": self.batch_size,
            "show_progress_bar": self.show_progress_bar,
            "convert_to_tensor": True,
        }
        q = model.encode(self.queries, **kw)
        hits = {name: [[] for _ in self.queries] for name in functions}
        for start in range(0, len(self.corpus), self.corpus_chunk_size):
            c = model.encode(self.corpus[start : start + self.corpus_chunk_size], **kw)
            ids = self.corpus_ids[start : start + self.corpus_chunk_size]
            for name, fn in functions.items():
                scores = fn(q, c).float().cpu().numpy()
                for qi in range(len(self.queries)):
                    row = scores[qi]
                    # Candidates: everything scoring at least the k-th best, so that ties at the
                    # boundary are all seen before sorting by (-score, id).
                    k = min(max_k, len(row))
                    kth = np.partition(row, len(row) - k)[len(row) - k]
                    cand = np.flatnonzero(row >= kth)
                    merged = hits[name][qi] + [(float(row[j]), ids[j]) for j in cand]
                    merged.sort(key=lambda h: (-h[0], h[1]))
                    hits[name][qi] = merged[:max_k]
        return hits

    def compute_metrics(
        self, top_hits: list[list[tuple[float, str]]]
    ) -> dict[str, dict[int, float]]:
        acc = {k: 0.0 for k in self.accuracy_at_k}
        prec = {k: [] for k in self.precision_recall_at_k}
        rec = {k: [] for k in self.precision_recall_at_k}
        mrr = {k: 0.0 for k in self.mrr_at_k}
        ndcg = {k: [] for k in self.ndcg_at_k}
        ap = {k: [] for k in self.map_at_k}
        for qid, hits in zip(self.queries_ids, top_hits):
            relevant = self.relevant_docs[qid]
            flags = [1 if doc in relevant else 0 for _, doc in hits]
            for k in self.accuracy_at_k:
                acc[k] += 1.0 if any(flags[:k]) else 0.0
            for k in self.precision_recall_at_k:
                prec[k].append(sum(flags[:k]) / k)
                rec[k].append(sum(flags[:k]) / len(relevant))
            for k in self.mrr_at_k:
                first = next((i for i, f in enumerate(flags[:k]) if f), None)
                mrr[k] += 0.0 if first is None else 1.0 / (first + 1)
            for k in self.ndcg_at_k:
                ndcg[k].append(dcg(flags, k) / dcg([1] * len(relevant), k))
            for k in self.map_at_k:
                correct, total = 0, 0.0
                for i, f in enumerate(flags[:k]):
                    if f:
                        correct += 1
                        total += correct / (i + 1)
                ap[k].append(total / min(k, len(relevant)))
        n = len(self.queries)
        return {
            "accuracy@k": {k: v / n for k, v in acc.items()},
            "precision@k": {k: float(np.mean(v)) for k, v in prec.items()},
            "recall@k": {k: float(np.mean(v)) for k, v in rec.items()},
            "ndcg@k": {k: float(np.mean(v)) for k, v in ndcg.items()},
            "mrr@k": {k: v / n for k, v in mrr.items()},
            "map@k": {k: float(np.mean(v)) for k, v in ap.items()},
        }

    def __call__(
        self, model, output_path=None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        functions = self._functions(model)
        with torch.inference_mode():
            hits = self._top_hits(model, functions)
        scores = {name: self.compute_metrics(hits[name]) for name in functions}
        names = list(functions)
        header, row = ["epoch", "steps"], [epoch, steps]
        for name in names:
            s = scores[name]
            for k in self.accuracy_at_k:
                header.append(f"{name}-Accuracy@{k}")
                row.append(s["accuracy@k"][k])
            for k in self.precision_recall_at_k:
                header += [f"{name}-Precision@{k}", f"{name}-Recall@{k}"]
                row += [s["precision@k"][k], s["recall@k"][k]]
            for k, key, label in (
                [(k, "mrr@k", "MRR") for k in self.mrr_at_k]
                + [(k, "ndcg@k", "NDCG") for k in self.ndcg_at_k]
                + [(k, "map@k", "MAP") for k in self.map_at_k]
            ):
                header.append(f"{name}-{label}@{k}")
                row.append(s[key][k])
        self.csv_headers = header
        self.append_csv(output_path, row)
        top_ndcg = max(self.ndcg_at_k)
        if self.main_score_function:
            best = self.main_score_function
        else:
            best = max(names, key=lambda n: scores[n]["ndcg@k"][top_ndcg])
        self.primary_metric = f"{best}_ndcg@{top_ndcg}"
        metrics = {
            f"{name}_{metric.replace('@k', f'@{k}')}": v
            for name, vals in scores.items()
            for metric, per_k in vals.items()
            for k, v in per_k.items()
        }
        return self.prefix(metrics)
