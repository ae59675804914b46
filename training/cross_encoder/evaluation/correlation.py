"""CrossEncoderCorrelationEvaluator: correlation of predicted pair scores with gold scores."""

from __future__ import annotations

from ...evaluation.base import Evaluator


class CrossEncoderCorrelationEvaluator(Evaluator):
    """Pearson and Spearman correlation between ``model.predict(pairs)`` and ``scores``
    (one-label models). Returns ``{"pearson", "spearman"}`` (prefixed by ``name``);
    ``primary_metric`` is ``spearman``."""

    csv_headers = ("epoch", "steps", "Pearson_Correlation", "Spearman_Correlation")

    def __init__(
        self,
        sentence_pairs: list[list[str]],
        scores: list[float],
        name: str = "",
        batch_size: int = 32,
        show_progress_bar: bool = False,
        write_csv: bool = True,
    ) -> None:
        if len(sentence_pairs) != len(scores):
            raise ValueError(
                f"CrossEncoderCorrelationEvaluator: {len(sentence_pairs)} pairs but {len(scores)} scores"
            )
        if len(scores) < 2:
            raise ValueError("CrossEncoderCorrelationEvaluator needs at least 2 pairs")
        self.sentence_pairs = [list(p) for p in sentence_pairs]
        self.scores = [float(s) for s in scores]
        self.name = name
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.write_csv = write_csv
        self.csv_file = (
            "CrossEncoderCorrelationEvaluator" + (f"_{name}" if name else "") + "_results.csv"
        )
        self.primary_metric = "spearman"

    @classmethod
    def from_input_examples(cls, examples, **kwargs) -> CrossEncoderCorrelationEvaluator:
        return cls([e.texts for e in examples], [e.label for e in examples], **kwargs)

    def __call__(
        self, model, output_path=None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        from scipy.stats import pearsonr, spearmanr  # slow to import

        predicted = model.predict(
            self.sentence_pairs,
            batch_size=self.batch_size,
            show_progress_bar=self.show_progress_bar,
        )
        pearson, spearman = (
            pearsonr(self.scores, predicted)[0],
            spearmanr(self.scores, predicted)[0],
        )
        self.append_csv(output_path, [epoch, steps, pearson, spearman])
        return self.prefix({"pearson": pearson, "spearman": spearman})
