"""ContrastiveLoss: pull positive pairs together, push negative pairs beyond a margin."""

from __future__ import annotations

from enum import Enum

import torch.nn.functional as F
from torch import Tensor, nn

from .base import SCORE, Loss


def _euclidean(x: Tensor, y: Tensor) -> Tensor:
    return F.pairwise_distance(x, y, p=2)


def _manhattan(x: Tensor, y: Tensor) -> Tensor:
    return F.pairwise_distance(x, y, p=1)


def _cosine_distance(x: Tensor, y: Tensor) -> Tensor:
    return 1 - F.cosine_similarity(x, y)


class SiameseDistanceMetric(Enum):
    """Row-wise distances (batch, dim) x (batch, dim) -> (batch,). Members are callable."""

    EUCLIDEAN = "euclidean"
    MANHATTAN = "manhattan"
    COSINE_DISTANCE = "cosine_distance"

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        return {
            "euclidean": _euclidean,
            "manhattan": _manhattan,
            "cosine_distance": _cosine_distance,
        }[self.value](x, y)


def distance_name(metric) -> str:
    if isinstance(metric, SiameseDistanceMetric):
        return f"SiameseDistanceMetric.{metric.name}"
    return getattr(metric, "__name__", str(metric))


class ContrastiveLoss(Loss):
    """``0.5 * (y * d^2 + (1 - y) * relu(margin - d)^2)`` averaged (or summed) over pairs.

    Data: (sentence_a, sentence_b) with label 1 (similar) or 0 (dissimilar).
    Embeddings: two (batch, dim) tensors; labels (batch,).
    """

    label_kind = SCORE
    data_shape = "(sentence_a, sentence_b) texts with a 0/1 label (1 = similar)"

    def __init__(
        self,
        model: nn.Module,
        distance_metric=SiameseDistanceMetric.COSINE_DISTANCE,
        margin: float = 0.5,
        size_average: bool = True,
    ) -> None:
        super().__init__(model)
        self.distance_metric = distance_metric
        self.margin = margin
        self.size_average = size_average

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        self.check_inputs(len(embeddings), labels, embeddings[0].shape[0])
        labels = labels.view(-1).float()
        d = self.distance_metric(embeddings[0], embeddings[1])
        losses = 0.5 * (labels * d.pow(2) + (1 - labels) * F.relu(self.margin - d).pow(2))
        return losses.mean() if self.size_average else losses.sum()

    def config(self) -> dict:
        return {
            "distance_metric": distance_name(self.distance_metric),
            "margin": self.margin,
            "size_average": self.size_average,
        }
