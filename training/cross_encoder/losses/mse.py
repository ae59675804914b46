"""MSELoss: distil a teacher's pair scores into the cross-encoder."""

from __future__ import annotations

from torch import Tensor, nn

from ..activation import IDENTITY
from .base import CrossEncoderLoss


class MSELoss(CrossEncoderLoss):
    """Mean squared error between ``activation_fn(logit)`` and the float label (a teacher's
    score); keyword arguments go to ``torch.nn.MSELoss``."""

    data_shape = "(query, document) pairs with a float teacher score"

    def __init__(self, model: nn.Module, activation_fn: nn.Module = IDENTITY, **kwargs) -> None:
        super().__init__(model, activation_fn)
        self.loss_fct = nn.MSELoss(**kwargs)

    def forward(self, inputs, labels) -> Tensor:
        self.check_columns(inputs, 2, 2)
        labels = self.check_pointwise_labels(labels, len(inputs[0]))
        logits = self.activation_fn(self.logits(list(zip(inputs[0], inputs[1]))))
        return self.loss_fct(logits, labels.detach().float())
