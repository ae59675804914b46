"""MultipleNegativesRankingLoss for cross-encoders: each query against its positive, some
in-batch negatives (other queries' documents) and its own hard negatives."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor, nn

from ..activation import SIGMOID, activation_name
from .base import CrossEncoderLoss


class MultipleNegativesRankingLoss(CrossEncoderLoss):
    """Cross-entropy over ``scale * activation_fn(s(q, d))`` with the positive as the target.

    Candidates of query i: its positive; ``num_negatives`` documents drawn at random from the
    other examples' documents of every column (all of them when None or when fewer exist);
    then its own hard negatives (columns 2, 3, ...). Labels are ignored.
    """

    data_shape = "(query, positive[, negative_1, ...]) texts, no label"

    def __init__(
        self,
        model: nn.Module,
        num_negatives: int | None = 4,
        scale: float = 10.0,
        activation_fn: nn.Module | None = SIGMOID,
    ) -> None:
        super().__init__(model, nn.Identity())
        self.activation_fn = activation_fn  # None: no activation at all
        self.num_negatives = num_negatives
        self.scale = scale
        self.cross_entropy_loss = nn.CrossEntropyLoss()

    def in_batch_negatives(
        self, queries: list[str], columns: list[list[str]]
    ) -> Iterator[list[str]]:
        """Yields one document per query at a time: the j-th negative of every query.

        A query's own document in every column is never its negative. The draw (without
        replacement, uniform over the allowed documents) uses torch's global generator.
        """
        batch = len(queries)
        flat = [doc for col in columns for doc in col]
        allowed = ~torch.eye(batch, dtype=torch.bool).repeat(1, len(columns))
        available = len(flat) - len(columns)
        if self.num_negatives is not None and self.num_negatives < available:
            chosen = torch.multinomial(allowed.float(), self.num_negatives)
        else:
            chosen = torch.arange(batch * len(columns)).repeat(batch, 1)[allowed].view(batch, -1)
        for column in chosen.T:
            yield [flat[j] for j in column]

    def column_logits(self, queries: list[str], documents: list[str]) -> Tensor:
        return self.logits(list(zip(queries, documents)))

    def loss_from_logits(self, logits: list[Tensor], batch: int) -> Tensor:
        """``logits``: chunks that concatenate to (candidates * batch,), candidate-major."""
        scores = torch.cat(logits).view(-1, batch).T
        if self.activation_fn is not None:
            scores = self.activation_fn(scores)
        if self.scale:
            scores = scores * self.scale
        target = torch.zeros(batch, dtype=torch.long, device=scores.device)
        return self.cross_entropy_loss(scores, target)

    def forward(self, inputs, labels=None) -> Tensor:
        self.check_columns(inputs, 2)
        queries = list(inputs[0])
        logits = [self.column_logits(queries, inputs[1])]
        for negatives in self.in_batch_negatives(queries, [list(c) for c in inputs[1:]]):
            logits.append(self.column_logits(queries, negatives))
        for negatives in inputs[2:]:
            logits.append(self.column_logits(queries, negatives))
        return self.loss_from_logits(logits, len(queries))

    def config(self) -> dict:
        return {
            "scale": self.scale,
            "num_negatives": self.num_negatives,
            "activation_fn": activation_name(self.activation_fn),
        }
