"""BatchAllTripletLoss: every valid (anchor, positive, negative) triplet of the batch."""

from __future__ import annotations

from torch import Tensor, nn

from .batch_triplet_common import (
    BatchHardTripletLossDistanceFunction,
    BatchTripletLoss,
    same_label_mask,
)


class BatchAllTripletLoss(BatchTripletLoss):
    """Sum of ``relu(d(a, p) - d(a, n) + margin)`` over all valid triplets, divided by the
    number of triplets with a positive loss.

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
        dist = self.distance_metric(embeddings)
        anchor, positive = same_label_mask(labels).nonzero(as_tuple=True)
        # (pairs, n): one row per anchor-positive pair, one column per candidate negative.
        losses = dist[anchor, positive].unsqueeze(1) - dist[anchor] + self.triplet_margin
        valid = (labels[anchor].unsqueeze(1) != labels.unsqueeze(0)).float()
        losses = (losses * valid).clamp(min=0)
        n_positive = (losses > 1e-16).sum()
        return losses.sum() / (n_positive + 1e-16)

    def config(self) -> dict:
        return {"distance_metric": self._distance_name(), "margin": self.triplet_margin}
