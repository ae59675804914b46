"""CosineSimilarityLoss: regress cos(u, v) onto a gold score."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import SCORE, Loss


class CosineSimilarityLoss(Loss):
    """``loss_fct(cos_score_transformation(cos(u, v)), label)``.

    Data: (sentence_a, sentence_b) with a float score, typically in [0, 1].
    Embeddings: two (batch, dim) tensors; labels: (batch,).
    """

    label_kind = SCORE
    data_shape = "(sentence_a, sentence_b) texts with a float similarity score label (batch,)"

    def __init__(
        self,
        model: nn.Module,
        loss_fct: nn.Module | None = None,
        cos_score_transformation: nn.Module | None = None,
    ) -> None:
        super().__init__(model)
        self.loss_fct = nn.MSELoss() if loss_fct is None else loss_fct
        self.cos_score_transformation = (
            nn.Identity() if cos_score_transformation is None else cos_score_transformation
        )

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        self.check_inputs(len(embeddings), labels, embeddings[0].shape[0])
        cos = torch.cosine_similarity(embeddings[0], embeddings[1])
        return self.loss_fct(self.cos_score_transformation(cos), labels.float().view(-1))

    def config(self) -> dict:
        name = lambda m: f"{type(m).__module__}.{type(m).__qualname__}"
        return {
            "loss_fct": name(self.loss_fct),
            "cos_score_transformation": name(self.cos_score_transformation),
        }
