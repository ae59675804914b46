"""CrossEntropyLoss: (query, document) pairs with a class label, for multi-label heads."""

from __future__ import annotations

from torch import Tensor, nn

from ..activation import IDENTITY
from .base import CrossEncoderLoss


class CrossEntropyLoss(CrossEncoderLoss):
    """Softmax cross-entropy of the (batch, num_labels) logits against an int class (or
    float class probabilities); keyword arguments go to ``torch.nn.CrossEntropyLoss``."""

    data_shape = "(query, document) pairs with an integer class label"
    single_label = False

    def __init__(self, model: nn.Module, activation_fn: nn.Module = IDENTITY, **kwargs) -> None:
        super().__init__(model, activation_fn)
        self.ce_loss = nn.CrossEntropyLoss(**kwargs)

    def forward(self, inputs, labels) -> Tensor:
        self.check_columns(inputs, 2, 2)
        if not isinstance(labels, Tensor):
            raise self.fail(f"labels must be a tensor, got {type(labels).__name__}")
        logits = self.activation_fn(self.logits(list(zip(inputs[0], inputs[1]))))
        if not labels.is_floating_point() and labels.shape == (logits.shape[0], 1):
            labels = labels.view(-1)
        return self.ce_loss(logits, labels)
