"""TripletEvaluator: how often the anchor is more similar to the positive than to the negative."""

from __future__ import annotations

from ..similarity import PAIRWISE_FUNCTIONS
from .base import Evaluator, similarity_fn_names


class TripletEvaluator(Evaluator):
    """Accuracy of ``sim(a, p) > sim(a, n) + margin`` per similarity function.

    Returns ``{"cosine_accuracy", ...}`` (prefixed by ``name``).
    """

    def __init__(
        self,
        anchors: list[str],
        positives: list[str],
        negatives: list[str],
        main_similarity_function: str | None = None,
        margin: float | dict[str, float] | None = None,
        name: str = "",
        batch_size: int = 16,
        show_progress_bar: bool = False,
        write_csv: bool = True,
        similarity_fn_names: list[str] | None = None,
    ) -> None:
        if not (len(anchors) == len(positives) == len(negatives)):
            raise ValueError(
                "TripletEvaluator: anchors, positives and negatives must have the same length"
            )
        self.anchors, self.positives, self.negatives = (
            list(anchors),
            list(positives),
            list(negatives),
        )
        self.main_similarity_function = main_similarity_function
        self.similarity_fn_names = list(
            similarity_fn_names or ([main_similarity_function] if main_similarity_function else [])
        )
        unknown = set(self.similarity_fn_names) - set(PAIRWISE_FUNCTIONS)
        if unknown:
            raise ValueError(f"TripletEvaluator: unknown similarity functions {sorted(unknown)}")
        if margin is None:
            margin = 0
        if isinstance(margin, (int, float)):
            self.margin = {k: margin for k in PAIRWISE_FUNCTIONS}
        else:
            self.margin = {**{k: 0 for k in PAIRWISE_FUNCTIONS}, **margin}
        self.name = name
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.write_csv = write_csv
        self.csv_file = "triplet_evaluation" + (f"_{name}" if name else "") + "_results.csv"

    @classmethod
    def from_input_examples(cls, examples, **kwargs) -> TripletEvaluator:
        return cls(
            [e.texts[0] for e in examples],
            [e.texts[1] for e in examples],
            [e.texts[2] for e in examples],
            **kwargs,
        )

    def __call__(
        self, model, output_path=None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        names = similarity_fn_names(self.similarity_fn_names, model)
        kw = {
            "batch_size": self.batch_size,
            "show_progress_bar": self.show_progress_bar,
            "convert_to_tensor": True,
        }
        a, p, n = (
            model.encode(x, **kw).float().cpu()
            for x in (self.anchors, self.positives, self.negatives)
        )
        metrics = {}
        for fn in names:
            sim = PAIRWISE_FUNCTIONS[fn]
            metrics[f"{fn}_accuracy"] = (
                (sim(a, p) > sim(a, n) + self.margin[fn]).float().mean().item()
            )
        self.csv_headers = ["epoch", "steps"] + [f"accuracy_{fn}" for fn in names]
        self.append_csv(output_path, [epoch, steps] + list(metrics.values()))
        if len(names) > 1:
            metrics["max_accuracy"] = max(metrics.values())
        if self.main_similarity_function:
            self.primary_metric = f"{self.main_similarity_function}_accuracy"
        else:
            self.primary_metric = "max_accuracy" if len(names) > 1 else f"{names[0]}_accuracy"
        return self.prefix(metrics)
