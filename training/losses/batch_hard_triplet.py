"""BatchHardTripletLoss: for each anchor, its hardest positive against its hardest negative."""

from __future__ import annotations

from torch import Tensor, nn

from .batch_triplet_common import (
    BatchHardTripletLossDistanceFunction,
    BatchTripletLoss,
    hardest_pairs,
)


class BatchHardTripletLoss(BatchTripletLoss):
    """``mean over anchors of relu(max d(a, p) - min d(a, n) + margin)``.

    Data: (sentence,) with an int class label; embeddings one (batch, dim) tensor.
    """

    def __init__(
        self,
        model: nn.Module,
        distance_metric=BatchHardTripletLossDistanceFunction.euclidean_distance,
        margin: float = 5,
    ) -> None:
        super().__init__(model)
        self.distance_metric = distance_metric
        self.triplet_margin = margin

    def batch_loss(self, labels: Tensor, embeddings: Tensor) -> Tensor:
        pos, neg = hardest_pairs(self.distance_metric(embeddings), labels)
        return (pos - neg + self.triplet_margin).clamp(min=0).mean()

    def config(self) -> dict:
        return {"distance_metric": self._distance_name(), "margin": self.triplet_margin}
