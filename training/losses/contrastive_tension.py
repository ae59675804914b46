"""Contrastive Tension: two copies of the encoder must agree on identical sentences only."""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..similarity import cos_sim, function_name
from .base import NONE, Loss


class ContrastiveTensionLoss(Loss):
    """Binary cross-entropy (summed) on ``dot(model1(a), model2(b))``: 1 when ``a`` and ``b``
    are the same sentence, 0 otherwise. ``model2`` is the model being trained and saved;
    ``model1`` is a trained copy made at construction.

    Data: (sentence, sentence_or_other) with label 1/0 (ContrastiveTensionDataLoader makes
    them); without labels, a pair is positive when its token ids are equal.
    """

    label_kind = NONE
    data_shape = (
        "(sentence_a, sentence_b) texts with label 1 when they are the same sentence, else 0"
    )

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        self.model1 = copy.deepcopy(model)

    @property
    def model2(self) -> nn.Module:
        return self.model

    def forward(self, features, labels=None):
        features = list(features)
        self.check_inputs(len(features), labels)
        f1, f2 = features
        r1 = self.model1(f1)["sentence_embedding"]
        r2 = self.model(f2)["sentence_embedding"]
        scores = (r1 * r2).sum(dim=-1)
        if labels is None:
            m1, m2 = f1["attention_mask"].bool(), f2["attention_mask"].bool()
            labels = torch.tensor(
                [
                    torch.equal(a[x], b[y])
                    for a, x, b, y in zip(f1["input_ids"], m1, f2["input_ids"], m2)
                ],
                dtype=scores.dtype,
                device=scores.device,
            )
        elif labels.numel() != scores.numel():
            raise self.fail(f"got {labels.numel()} labels for {scores.numel()} examples")
        return F.binary_cross_entropy_with_logits(
            scores, labels.view(-1).to(scores.dtype), reduction="sum"
        )


class ContrastiveTensionLossInBatchNegatives(Loss):
    """In-batch form: sentence i through ``model1`` must match sentence i through ``model2``
    against all other sentences of the batch (symmetric cross-entropy over
    ``similarity * exp(logit_scale)``, the scale being trained).

    Data: (sentence,) texts, no label.
    """

    min_columns, max_columns = 1, 1
    label_kind = NONE
    data_shape = "(sentence,) texts; no label needed"

    def __init__(self, model: nn.Module, scale: float = 20.0, similarity_fct=cos_sim) -> None:
        super().__init__(model)
        self.model1 = copy.deepcopy(model)
        self.similarity_fct = similarity_fct
        self.logit_scale = nn.Parameter(torch.ones([]) * math.log(scale))

    @property
    def model2(self) -> nn.Module:
        return self.model

    def forward(self, features, labels=None):
        features = list(features)
        self.check_inputs(len(features), labels)
        a = self.model1(features[0])["sentence_embedding"]
        b = self.model(features[0])["sentence_embedding"]
        scores = self.similarity_fct(a, b) * self.logit_scale.exp()
        target = torch.arange(len(scores), device=scores.device)
        return (F.cross_entropy(scores, target) + F.cross_entropy(scores.T, target)) / 2

    def config(self) -> dict:
        return {
            "scale": self.logit_scale.exp().item(),
            "similarity_fct": function_name(self.similarity_fct),
        }
