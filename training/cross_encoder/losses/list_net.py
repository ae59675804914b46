"""ListNetLoss: cross-entropy between the softmax of the labels and of the scores."""

from __future__ import annotations

from torch import Tensor, nn

from ..activation import IDENTITY
from .listwise import ListwiseLoss


class ListNetLoss(ListwiseLoss):
    """Top-one ListNet: ``CE(softmax(logits), softmax(labels))`` per query, averaged over
    queries (padded documents get probability 0 on both sides)."""

    def __init__(
        self,
        model: nn.Module,
        activation_fn: nn.Module | None = IDENTITY,
        mini_batch_size: int | None = None,
    ) -> None:
        super().__init__(model, activation_fn, mini_batch_size)
        self.cross_entropy_loss = nn.CrossEntropyLoss()

    def loss_from_lists(self, logits: Tensor, labels: Tensor, mask: Tensor) -> Tensor:
        return self.cross_entropy_loss(logits, labels.softmax(dim=1))
