"""AnglELoss: CoSENT on the AnglE (complex-angle) similarity."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..similarity import pairwise_angle_sim
from .base import NONE, Loss
from .cosent import cosent


class AnglELoss(Loss):
    """CoSENT ranking on ``pairwise_angle_sim``.

    Data: (sentence_a, sentence_b) with a float score; or (anchor, positive, negative_1, ...)
    without labels, read as pairs (anchor, positive) with score 1 and (anchor, negative_k)
    with score 0 (an optional label per example replaces the 1, and 1 - label the 0s).
    """

    min_columns, max_columns = 2, None
    label_kind = NONE  # checked per arity below
    data_shape = "(sentence_a, sentence_b) texts with a float score label (batch,), or (anchor, positive, negative...) texts"

    def __init__(self, model: nn.Module, scale: float = 20.0) -> None:
        super().__init__(model)
        self.scale = scale
        self.similarity_fct = pairwise_angle_sim

    def forward(self, features, labels):
        features = list(features)
        if len(features) == 2 and labels is None:
            raise self.fail("pairs need a score label")
        return super().forward(features, labels)

    def compute_loss_from_embeddings(
        self, embeddings: list[Tensor], labels: Tensor | None
    ) -> Tensor:
        self.check_inputs(len(embeddings), None)
        n = embeddings[0].shape[0]
        if len(embeddings) == 2:
            if labels is None:
                raise self.fail("pairs need a score label")
            if labels.numel() != n:
                raise self.fail(f"got {labels.numel()} labels for {n} examples")
            left, right, target = embeddings[0], embeddings[1], labels.view(-1)
        else:
            k = len(embeddings) - 1
            if labels is None:
                labels = torch.ones(n, device=embeddings[0].device)
            elif labels.numel() != n:
                raise self.fail(f"got {labels.numel()} labels for {n} examples")
            labels = labels.view(-1)
            left = embeddings[0].repeat(k, 1)
            right = torch.cat(embeddings[1:])
            target = torch.cat([labels, (1 - labels).repeat(k - 1)])
        return cosent(self.similarity_fct(left, right), target, self.scale)

    def config(self) -> dict:
        return {"scale": self.scale, "similarity_fct": "pairwise_angle_sim"}
