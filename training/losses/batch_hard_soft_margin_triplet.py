"""BatchHardSoftMarginTripletLoss: batch-hard triplets with softplus instead of a margin."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .batch_triplet_common import (
    BatchHardTripletLossDistanceFunction,
    BatchTripletLoss,
    hardest_pairs,
)


class BatchHardSoftMarginTripletLoss(BatchTripletLoss):
    """``mean over anchors of softplus(max d(a, p) - min d(a, n))``.

    Data: (sentence,) with an int class label; embeddings one (batch, dim) tensor.
    """

    def __init__(
        self,
        model: nn.Module,
        distance_metric=BatchHardTripletLossDistanceFunction.euclidean_distance,
    ) -> None:
        super().__init__(model)
        self.distance_metric = distance_metric

    def batch_loss(self, labels: Tensor, embeddings: Tensor) -> Tensor:
        pos, neg = hardest_pairs(self.distance_metric(embeddings), labels)
        return F.softplus(pos - neg).mean()

    def config(self) -> dict:
        return {"distance_metric": self._distance_name()}
