"""Evaluator protocol: ``evaluator(model, output_path=None, epoch=-1, steps=-1) -> dict``.

Metric names (and the CSV file names and columns) are those of the sentence-transformers
evaluator of the same name; ``primary_metric`` names the metric that model selection uses.
"""

from __future__ import annotations

import csv
import os


class Evaluator:
    primary_metric: str | None = None
    name: str = ""
    csv_file: str = ""
    csv_headers: tuple[str, ...] | list[str] = ()
    write_csv: bool = True

    def prefix(self, metrics: dict[str, float]) -> dict[str, float]:
        """Prefixes metric names (and ``primary_metric``) with ``name_`` when a name is set."""
        metrics = {k: float(v) for k, v in metrics.items()}
        if not self.name:
            return metrics
        if self.primary_metric and not self.primary_metric.startswith(self.name + "_"):
            self.primary_metric = f"{self.name}_{self.primary_metric}"
        return {f"{self.name}_{k}": v for k, v in metrics.items()}

    prefix_name_to_metrics = staticmethod(
        lambda metrics, name: {f"{name}_{k}" if name else k: v for k, v in metrics.items()}
    )

    def append_csv(self, output_path: str | None, row: list) -> None:
        """Appends one row to ``output_path/csv_file``, writing the header first if new."""
        if output_path is None or not self.write_csv:
            return
        os.makedirs(output_path, exist_ok=True)
        path = os.path.join(output_path, self.csv_file)
        new = not os.path.isfile(path)
        with open(path, "a", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(self.csv_headers)
            writer.writerow(row)

    def __call__(
        self, model, output_path: str | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        raise NotImplementedError


def similarity_fn_names(requested, model) -> list[str]:
    if requested:
        return list(requested)
    return [getattr(model, "similarity_fn_name", None) or "cosine"]
