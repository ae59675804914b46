"""SequentialEvaluator: run several evaluators; the primary score aggregates theirs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .base import Evaluator


class SequentialEvaluator(Evaluator):
    """Runs each evaluator and merges their metrics; ``primary_metric`` is ``"sequential_score"``,
    ``main_score_function`` of the evaluators' primary scores (default: the last one)."""

    def __init__(
        self,
        evaluators: Sequence[Evaluator],
        main_score_function: Callable[[list[float]], float] = lambda scores: scores[-1],
    ) -> None:
        self.evaluators = list(evaluators)
        self.main_score_function = main_score_function
        self.primary_metric = "sequential_score"

    def __call__(
        self, model, output_path=None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        metrics, primaries = {}, []
        for ev in self.evaluators:
            m = ev(model, output_path=output_path, epoch=epoch, steps=steps)
            metrics.update(m)
            primaries.append(m[ev.primary_metric])
        metrics["sequential_score"] = float(self.main_score_function(primaries))
        return metrics
