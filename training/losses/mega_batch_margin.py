"""MegaBatchMarginLoss: margin loss against the hardest in-batch negative."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..similarity import cos_sim
from .base import NONE, Loss, embed_columns
from .gradcache import GradCacheMixin


class MegaBatchMarginLoss(GradCacheMixin, Loss):
    """For anchor i: ``relu(positive_margin - cos(a_i, p_i)) + relu(max_{j != i} cos(a_i, p_j)
    - negative_margin)``, averaged over the batch.

    Data: (anchor, positive), no label; embeddings two (batch, dim) tensors. With
    ``use_mini_batched_version`` the encoder runs ``mini_batch_size`` texts at a time
    (gradient caching), so that very large batches fit in memory.
    """

    min_columns = max_columns = 2
    label_kind = NONE
    data_shape = "(anchor, positive) texts (negatives are mined from the batch); no label needed"

    def __init__(
        self,
        model: nn.Module,
        positive_margin: float = 0.8,
        negative_margin: float = 0.3,
        use_mini_batched_version: bool = True,
        mini_batch_size: int = 50,
        show_progress_bar: bool = False,
    ) -> None:
        super().__init__(model)
        self.positive_margin = positive_margin
        self.negative_margin = negative_margin
        self.use_mini_batched_version = use_mini_batched_version
        self.uses_gradient_cache = use_mini_batched_version
        self.mini_batch_size = mini_batch_size
        self.show_progress_bar = show_progress_bar

    def forward(self, features, labels=None):
        features = list(features)
        self.check_inputs(len(features), labels)
        if self.use_mini_batched_version:
            return self.forward_cached(features, labels, self.compute_loss_from_embeddings)
        return self.compute_loss_from_embeddings(embed_columns(self.model, features), labels)

    def compute_loss_from_embeddings(
        self, embeddings: list[Tensor], labels: Tensor | None = None
    ) -> Tensor:
        self.check_inputs(len(embeddings), labels)
        anchors, positives = embeddings
        n = anchors.shape[0]
        scores = cos_sim(anchors, positives)
        diag = torch.arange(n, device=scores.device)
        pos = scores[diag, diag]
        hardest_neg = (
            scores.masked_fill(torch.eye(n, dtype=torch.bool, device=scores.device), -torch.inf)
            .max(dim=1)
            .values
        )
        return (
            F.relu(self.positive_margin - pos) + F.relu(hardest_neg - self.negative_margin)
        ).sum() / n

    def config(self) -> dict:
        return {
            "positive_margin": self.positive_margin,
            "negative_margin": self.negative_margin,
            "mini_batch_size": self.mini_batch_size,
        }
