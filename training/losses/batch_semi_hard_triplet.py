"""BatchSemiHardTripletLoss: for each anchor-positive pair, the nearest negative that is farther than the positive."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .batch_triplet_common import BatchHardTripletLossDistanceFunction, BatchTripletLoss


class BatchSemiHardTripletLoss(BatchTripletLoss):
    """Semi-hard mining (FaceNet): for pair (a, p) the negative is the closest one with
    ``d(a, n) > d(a, p)``, or the farthest negative when there is none. The loss is the
    mean over anchor-positive pairs of ``relu(d(a, p) - d(a, n) + margin)``.

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
        self.margin = margin

    def batch_loss(self, labels: Tensor, embeddings: Tensor) -> Tensor:
        n = labels.numel()
        dist = self.distance_metric(embeddings)
        same = labels.unsqueeze(1) == labels.unsqueeze(0)
        # Row a of sorted_neg: distances from a to its negatives ascending, then inf.
        sorted_neg = dist.masked_fill(same, torch.inf).sort(dim=1, stable=True).values
        # For each (a, p): index of the first negative distance above d(a, p).
        pos = torch.searchsorted(
            sorted_neg.detach().contiguous(), dist.detach().contiguous(), right=True
        )
        outside = sorted_neg.gather(1, pos.clamp(max=n - 1))
        # Fallback: the farthest negative of the row, broadcast to every column.
        row_min = dist.min(1, keepdim=True).values
        farthest = ((dist - row_min) * (~same).float()).max(1, keepdim=True).values + row_min
        negative = torch.where(torch.isfinite(outside), outside, farthest)
        pairs = same.float() - torch.eye(n, device=dist.device)
        losses = torch.clamp((dist - negative + self.margin) * pairs, min=0.0)
        return losses.sum() / pairs.sum().clamp(min=1e-16)

    def config(self) -> dict:
        return {"distance_metric": self._distance_name(), "margin": self.margin}
