"""CrossEncoderClassificationEvaluator: pair classification quality of a cross-encoder."""

from __future__ import annotations

import numpy as np

from ...evaluation.base import Evaluator
from ...evaluation.binary_classification import best_accuracy, best_f1


class CrossEncoderClassificationEvaluator(Evaluator):
    """For one-label models, the 0/1 ``labels`` predicted by thresholding the score: accuracy
    and F1 (with precision and recall) at their best thresholds, and average precision
    (``primary_metric``). For several labels, the argmax class: macro, micro and weighted F1
    (``primary_metric`` ``f1_macro``). Keys are prefixed by ``name``."""

    def __init__(
        self,
        sentence_pairs: list[list[str]],
        labels: list[int],
        *,
        name: str = "",
        batch_size: int = 32,
        show_progress_bar: bool = False,
        write_csv: bool = True,
    ) -> None:
        if len(sentence_pairs) != len(labels):
            raise ValueError(
                f"CrossEncoderClassificationEvaluator: {len(sentence_pairs)} pairs but {len(labels)} labels"
            )
        if not sentence_pairs:
            raise ValueError("CrossEncoderClassificationEvaluator needs at least one pair")
        self.sentence_pairs = [list(p) for p in sentence_pairs]
        self.labels = np.asarray(labels)
        self.name = name
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.write_csv = write_csv
        self.csv_file = (
            "CrossEncoderClassificationEvaluator" + (f"_{name}" if name else "") + "_results.csv"
        )

    @classmethod
    def from_input_examples(cls, examples, **kwargs) -> CrossEncoderClassificationEvaluator:
        return cls([e.texts for e in examples], [e.label for e in examples], **kwargs)

    def __call__(
        self, model, output_path=None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        from sklearn.metrics import average_precision_score, f1_score  # slow to import

        predicted = model.predict(
            self.sentence_pairs,
            batch_size=self.batch_size,
            show_progress_bar=self.show_progress_bar,
        )
        if model.num_labels == 1:
            accuracy, accuracy_threshold = best_accuracy(predicted, self.labels, True)
            f1, precision, recall, f1_threshold = best_f1(predicted, self.labels, True)
            metrics = {
                "accuracy": accuracy,
                "accuracy_threshold": accuracy_threshold,
                "f1": f1,
                "f1_threshold": f1_threshold,
                "precision": precision,
                "recall": recall,
                "average_precision": average_precision_score(self.labels, predicted),
            }
            self.csv_headers = (
                "epoch",
                "steps",
                "Accuracy",
                "Accuracy_Threshold",
                "F1",
                "F1_Threshold",
                "Precision",
                "Recall",
                "Average_Precision",
            )
            self.primary_metric = "average_precision"
        else:
            classes = np.argmax(predicted, axis=1)
            metrics = {
                f"f1_{avg}": f1_score(self.labels, classes, average=avg)
                for avg in ("macro", "micro", "weighted")
            }
            self.csv_headers = ("epoch", "steps", "Macro_F1", "Micro_F1", "Weighted_F1")
            self.primary_metric = "f1_macro"
        self.append_csv(output_path, [epoch, steps, *metrics.values()])
        return self.prefix(metrics)
