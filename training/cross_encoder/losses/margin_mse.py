"""MarginMSELoss: distil a teacher's margins between a positive and negatives."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..activation import IDENTITY
from .base import CrossEncoderLoss


class MarginMSELoss(CrossEncoderLoss):
    """MSE between ``s(q, pos) - s(q, neg_j)`` and the teacher's margin for each negative.

    Labels per example: the k margins, or the k + 1 teacher scores ``[pos, neg_1, ...]``
    (turned into margins); one negative may also have a scalar margin.
    """

    data_shape = (
        "(query, positive, negative_1, ..., negative_k) with k margins or k + 1 teacher scores"
    )

    def __init__(self, model: nn.Module, activation_fn: nn.Module = IDENTITY, **kwargs) -> None:
        super().__init__(model, activation_fn)
        self.loss_fct = nn.MSELoss(**kwargs)

    def forward(self, inputs, labels) -> Tensor:
        self.check_columns(inputs, 3)
        queries, positives, negatives = inputs[0], inputs[1], inputs[2:]
        batch, k = len(queries), len(negatives)
        if isinstance(labels, (list, tuple)):
            labels = torch.stack(list(labels))
        if not isinstance(labels, Tensor):
            raise self.fail(f"labels must be a tensor, got {type(labels).__name__}")
        if labels.shape == (batch, k + 1):
            labels = labels[:, :1] - labels[:, 1:]
        elif labels.shape == (batch,):
            labels = labels.unsqueeze(1)
        if labels.shape != (batch, k):
            raise self.fail(
                f"labels of shape {tuple(labels.shape)} for {batch} examples with {k} negative(s)"
            )
        positive = self.activation_fn(self.logits(list(zip(queries, positives))))
        negative = torch.stack(
            [self.activation_fn(self.logits(list(zip(queries, col)))) for col in negatives], dim=1
        )
        return self.loss_fct(positive.unsqueeze(1) - negative, labels.detach().float())
