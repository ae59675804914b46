"""BinaryCrossEntropyLoss: (query, document) pairs with a 0/1 (or soft) relevance label."""

from __future__ import annotations

from torch import Tensor, nn

from ..activation import IDENTITY
from .base import CrossEncoderLoss


class BinaryCrossEntropyLoss(CrossEncoderLoss):
    """``BCEWithLogits(activation_fn(logit), label)``; ``pos_weight`` weighs positive labels
    and further keyword arguments go to ``torch.nn.BCEWithLogitsLoss``."""

    data_shape = "(query, document) pairs with a float label in [0, 1]"

    def __init__(
        self,
        model: nn.Module,
        activation_fn: nn.Module = IDENTITY,
        pos_weight: Tensor | None = None,
        **kwargs,
    ) -> None:
        super().__init__(model, activation_fn)
        self.pos_weight = pos_weight
        self.bce_with_logits_loss = nn.BCEWithLogitsLoss(pos_weight=pos_weight, **kwargs)

    def forward(self, inputs, labels) -> Tensor:
        self.check_columns(inputs, 2, 2)
        labels = self.check_pointwise_labels(labels, len(inputs[0]))
        logits = self.activation_fn(self.logits(list(zip(inputs[0], inputs[1]))))
        return self.bce_with_logits_loss(logits, labels.float())

    def config(self) -> dict:
        weight = None if self.pos_weight is None else self.pos_weight.item()
        return {**super().config(), "pos_weight": weight}
