"""BinaryClassificationEvaluator: paraphrase / duplicate detection by thresholding similarity."""

from __future__ import annotations

import numpy as np

from ..similarity import PAIRWISE_FUNCTIONS
from .base import Evaluator, similarity_fn_names

# For distances a lower score means "more similar".
_GREATER_IS_BETTER = {"cosine": True, "dot": True, "euclidean": False, "manhattan": False}


def _boundaries(scores: np.ndarray, labels: np.ndarray, greater: bool):
    """Sorted by decreasing similarity: (sorted scores, labels, indices where a tie run ends)."""
    order = np.argsort(-scores if greater else scores, kind="stable")
    s, y = scores[order], labels[order]
    ends = np.flatnonzero(np.append(s[1:] != s[:-1], True))
    return s, y, ends


def _threshold(s: np.ndarray, i: int) -> float:
    # Midway between the last accepted score and the next one.
    if i == len(s) - 1:
        return float(s[i])
    t = (s[i] + s[i + 1]) / 2
    return float(s[i]) if t == s[i + 1] else float(t)


def best_accuracy(scores: np.ndarray, labels: np.ndarray, greater: bool) -> tuple[float, float]:
    """The best accuracy of ``predict positive iff score beyond t`` and its threshold t."""
    s, y, ends = _boundaries(scores, labels, greater)
    n = len(y)
    pos_sofar = np.cumsum(y == 1)
    neg_after = (y == 0).sum() - np.cumsum(y == 0)
    best = (y == 0).sum() / n
    thr = (
        float(
            np.nextafter(
                s[0], np.inf if greater else -np.inf, dtype=np.result_type(s.dtype, np.float16)
            )
        )
        if n
        else -1.0
    )
    for i in ends:
        acc = (pos_sofar[i] + neg_after[i]) / n
        if acc > best:
            best, thr = acc, _threshold(s, i)
    return float(best), thr


def best_f1(
    scores: np.ndarray, labels: np.ndarray, greater: bool
) -> tuple[float, float, float, float]:
    """The best F1 over thresholds: (f1, precision, recall, threshold)."""
    s, y, ends = _boundaries(scores, labels, greater)
    correct = np.cumsum(y == 1)
    total_pos = (y == 1).sum()
    best = (0.0, 0.0, 0.0, 0.0)
    for i in ends:
        if correct[i] == 0:
            continue
        p, r = correct[i] / (i + 1), correct[i] / total_pos
        f1 = 2 * p * r / (p + r)
        if f1 > best[0]:
            best = (float(f1), float(p), float(r), _threshold(s, i))
    return best


class BinaryClassificationEvaluator(Evaluator):
    """Accuracy, F1 (with precision and recall), average precision and MCC of predicting
    the 0/1 ``labels`` by thresholding the similarity of each pair, at the best threshold.

    Returns ``{"cosine_accuracy", "cosine_accuracy_threshold", "cosine_f1", "cosine_precision",
    "cosine_recall", "cosine_f1_threshold", "cosine_ap", "cosine_mcc", ...}``.
    """

    _METRICS = (
        "accuracy",
        "accuracy_threshold",
        "f1",
        "precision",
        "recall",
        "f1_threshold",
        "ap",
        "mcc",
    )

    def __init__(
        self,
        sentences1: list[str],
        sentences2: list[str],
        labels: list[int],
        name: str = "",
        batch_size: int = 32,
        show_progress_bar: bool = False,
        write_csv: bool = True,
        similarity_fn_names: list[str] | None = None,
    ) -> None:
        if not (len(sentences1) == len(sentences2) == len(labels)):
            raise ValueError(
                "BinaryClassificationEvaluator: sentences1, sentences2 and labels must have the same length"
            )
        if any(label not in (0, 1) for label in labels):
            raise ValueError("BinaryClassificationEvaluator: labels must be 0 or 1")
        self.sentences1, self.sentences2, self.labels = (
            list(sentences1),
            list(sentences2),
            [int(x) for x in labels],
        )
        self.name = name
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.write_csv = write_csv
        self.similarity_fn_names = list(similarity_fn_names or [])
        self.csv_file = (
            "binary_classification_evaluation" + (f"_{name}" if name else "") + "_results.csv"
        )

    @classmethod
    def from_input_examples(cls, examples, **kwargs) -> BinaryClassificationEvaluator:
        return cls(
            [e.texts[0] for e in examples],
            [e.texts[1] for e in examples],
            [e.label for e in examples],
            **kwargs,
        )

    def compute_metrics(self, model) -> dict[str, dict[str, float]]:
        from sklearn.metrics import average_precision_score, matthews_corrcoef  # slow to import

        names = similarity_fn_names(self.similarity_fn_names, model)
        unique = list(dict.fromkeys(self.sentences1 + self.sentences2))
        emb = (
            model.encode(
                unique,
                batch_size=self.batch_size,
                show_progress_bar=self.show_progress_bar,
                convert_to_tensor=True,
            )
            .float()
            .cpu()
        )
        pos = {t: i for i, t in enumerate(unique)}
        e1 = emb[[pos[t] for t in self.sentences1]]
        e2 = emb[[pos[t] for t in self.sentences2]]
        labels = np.asarray(self.labels)
        out = {}
        for fn in names:
            greater = _GREATER_IS_BETTER[fn]
            raw = PAIRWISE_FUNCTIONS[fn](e1, e2).numpy()
            scores = raw if greater else -raw
            acc, acc_t = best_accuracy(scores, labels, greater)
            f1, p, r, f1_t = best_f1(scores, labels, greater)
            ap = average_precision_score(labels, scores * (1 if greater else -1))
            predicted = scores >= f1_t if greater else scores <= f1_t
            mcc = matthews_corrcoef(labels, predicted)
            out[fn] = {
                "accuracy": acc,
                "accuracy_threshold": acc_t,
                "f1": f1,
                "f1_threshold": f1_t,
                "precision": p,
                "recall": r,
                "ap": ap,
                "mcc": mcc,
            }
        return out

    def __call__(
        self, model, output_path=None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        names = similarity_fn_names(self.similarity_fn_names, model)
        scores = self.compute_metrics(model)
        self.csv_headers = ["epoch", "steps"] + [f"{fn}_{m}" for fn in names for m in self._METRICS]
        self.append_csv(
            output_path, [epoch, steps] + [scores[fn][m] for fn in names for m in self._METRICS]
        )
        metrics = {f"{fn}_{m}": v for fn, vals in scores.items() for m, v in vals.items()}
        if len(names) > 1:
            metrics.update({f"max_{m}": max(scores[fn][m] for fn in names) for m in self._METRICS})
            self.primary_metric = "max_ap"
        else:
            self.primary_metric = f"{names[0]}_ap"
        return self.prefix(metrics)
