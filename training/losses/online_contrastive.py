"""OnlineContrastiveLoss: the contrastive loss on the hard pairs of the batch only."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .base import SCORE, Loss
from .contrastive import SiameseDistanceMetric, distance_name


class OnlineContrastiveLoss(Loss):
    """Sum of ``d^2`` over positives farther than the nearest negative and of
    ``relu(margin - d)^2`` over negatives nearer than the farthest positive.

    Data: (sentence_a, sentence_b) with label 1 (similar) or 0 (dissimilar); pairs with
    another label are ignored. Embeddings: two (batch, dim) tensors; labels (batch,).
    """

    label_kind = SCORE
    data_shape = "(sentence_a, sentence_b) texts with a 0/1 label (1 = similar)"

    def __init__(
        self,
        model: nn.Module,
        distance_metric=SiameseDistanceMetric.COSINE_DISTANCE,
        margin: float = 0.5,
    ) -> None:
        super().__init__(model)
        self.distance_metric = distance_metric
        self.margin = margin

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        self.check_inputs(len(embeddings), labels, embeddings[0].shape[0])
        labels = labels.view(-1)
        d = self.distance_metric(embeddings[0], embeddings[1])
        neg = d[labels == 0]
        pos = d[labels == 1]
        hard_neg = neg[neg < (pos.max() if len(pos) else neg.mean())]
        hard_pos = pos[pos > (neg.min() if len(neg) else pos.mean())]
        return hard_pos.pow(2).sum() + F.relu(self.margin - hard_neg).pow(2).sum()

    def config(self) -> dict:
        return {"distance_metric": distance_name(self.distance_metric), "margin": self.margin}
