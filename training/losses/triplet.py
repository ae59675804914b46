"""TripletLoss: the anchor should be nearer the positive than the negative by a margin."""

from __future__ import annotations

from enum import Enum

import torch.nn.functional as F
from torch import Tensor, nn

from ..similarity import pairwise_cos_sim, pairwise_euclidean_sim, pairwise_manhattan_sim
from .base import NONE, Loss


class TripletDistanceMetric(Enum):
    """Row-wise distances (batch, dim) x (batch, dim) -> (batch,). Members are callable."""

    COSINE = "cosine"
    EUCLIDEAN = "euclidean"
    MANHATTAN = "manhattan"

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        if self is TripletDistanceMetric.COSINE:
            return 1 - pairwise_cos_sim(x, y)
        if self is TripletDistanceMetric.EUCLIDEAN:
            return -pairwise_euclidean_sim(x, y)
        return -pairwise_manhattan_sim(x, y)


class TripletLoss(Loss):
    """``mean(relu(d(a, p) - d(a, n) + triplet_margin))``.

    Data: (anchor, positive, negative), no label; embeddings three (batch, dim) tensors.
    """

    min_columns = max_columns = 3
    label_kind = NONE
    data_shape = "(anchor, positive, negative) texts; no label needed"

    def __init__(
        self,
        model: nn.Module,
        distance_metric=TripletDistanceMetric.EUCLIDEAN,
        triplet_margin: float = 5,
    ) -> None:
        super().__init__(model)
        self.distance_metric = distance_metric
        self.triplet_margin = triplet_margin

    def compute_loss_from_embeddings(
        self, embeddings: list[Tensor], labels: Tensor | None = None
    ) -> Tensor:
        self.check_inputs(len(embeddings), labels)
        a, p, n = embeddings
        return F.relu(
            self.distance_metric(a, p) - self.distance_metric(a, n) + self.triplet_margin
        ).mean()

    def config(self) -> dict:
        m = self.distance_metric
        name = (
            f"TripletDistanceMetric.{m.name}"
            if isinstance(m, TripletDistanceMetric)
            else getattr(m, "__name__", str(m))
        )
        return {"distance_metric": name, "triplet_margin": self.triplet_margin}
