"""EmbeddingSimilarityEvaluator: correlation of embedding similarity with gold scores (STS)."""

from __future__ import annotations

from ..similarity import PAIRWISE_FUNCTIONS
from .base import Evaluator, similarity_fn_names


class EmbeddingSimilarityEvaluator(Evaluator):
    """Pearson and Spearman correlation between ``sim(embed(s1_i), embed(s2_i))`` and
    ``scores_i``, for each similarity function (default: the model's).

    Returns ``{"pearson_cosine", "spearman_cosine", ...}`` (prefixed by ``name``);
    ``primary_metric`` is the Spearman of the main similarity.
    """

    def __init__(
        self,
        sentences1: list[str],
        sentences2: list[str],
        scores: list[float],
        batch_size: int = 16,
        main_similarity: str | None = None,
        similarity_fn_names: list[str] | None = None,
        name: str = "",
        show_progress_bar: bool = False,
        write_csv: bool = True,
    ) -> None:
        if not (len(sentences1) == len(sentences2) == len(scores)):
            raise ValueError(
                "EmbeddingSimilarityEvaluator: sentences1, sentences2 and scores must have the same length"
            )
        if len(scores) < 2:
            raise ValueError("EmbeddingSimilarityEvaluator needs at least 2 pairs")
        self.sentences1, self.sentences2, self.scores = (
            list(sentences1),
            list(sentences2),
            [float(s) for s in scores],
        )
        self.batch_size = batch_size
        self.main_similarity = main_similarity
        self.similarity_fn_names = list(
            similarity_fn_names or ([main_similarity] if main_similarity else [])
        )
        self.name = name
        self.show_progress_bar = show_progress_bar
        self.write_csv = write_csv
        self.csv_file = "similarity_evaluation" + (f"_{name}" if name else "") + "_results.csv"

    @classmethod
    def from_input_examples(cls, examples, **kwargs) -> EmbeddingSimilarityEvaluator:
        return cls(
            [e.texts[0] for e in examples],
            [e.texts[1] for e in examples],
            [e.label for e in examples],
            **kwargs,
        )

    def __call__(
        self, model, output_path=None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        from scipy.stats import pearsonr, spearmanr  # slow to import

        names = similarity_fn_names(self.similarity_fn_names, model)
        kw = {
            "batch_size": self.batch_size,
            "show_progress_bar": self.show_progress_bar,
            "convert_to_tensor": True,
        }
        e1 = model.encode(self.sentences1, **kw).float().cpu()
        e2 = model.encode(self.sentences2, **kw).float().cpu()
        metrics = {}
        for fn in names:
            sims = PAIRWISE_FUNCTIONS[fn](e1, e2).numpy()
            metrics[f"pearson_{fn}"] = pearsonr(self.scores, sims)[0]
            metrics[f"spearman_{fn}"] = spearmanr(self.scores, sims)[0]
        self.csv_headers = ["epoch", "steps"] + [
            f"{fn}_{m}" for fn in names for m in ("pearson", "spearman")
        ]
        self.append_csv(
            output_path,
            [epoch, steps]
            + [metrics[f"{m}_{fn}"] for fn in names for m in ("pearson", "spearman")],
        )
        if len(names) > 1:
            metrics["pearson_max"] = max(metrics[f"pearson_{fn}"] for fn in names)
            metrics["spearman_max"] = max(metrics[f"spearman_{fn}"] for fn in names)
        if self.main_similarity:
            self.primary_metric = f"spearman_{self.main_similarity}"
        else:
            self.primary_metric = "spearman_max" if len(names) > 1 else f"spearman_{names[0]}"
        return self.prefix(metrics)
