"""Pairwise distances and label masks shared by the batch triplet losses.

All functions take embeddings (n, dim) and/or labels (n,) and return (n, n) matrices.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..similarity import cos_sim
from .base import CLASS, Loss


class BatchHardTripletLossDistanceFunction:
    """Distance matrices for the batch triplet losses: (n, dim) -> (n, n)."""

    @staticmethod
    def cosine_distance(embeddings: Tensor) -> Tensor:
        return 1 - cos_sim(embeddings, embeddings)

    @staticmethod
    def euclidean_distance(embeddings: Tensor, squared: bool = False) -> Tensor:
        # Computed in float32 from the Gram matrix; the sqrt is guarded at 0, where its
        # gradient would be infinite.
        e = (
            embeddings.float()
            if embeddings.dtype in (torch.float16, torch.bfloat16)
            else embeddings
        )
        with torch.autocast(device_type=e.device.type, enabled=False):
            dot = e @ e.T
        sq = dot.diagonal()
        d = (sq.unsqueeze(0) - 2.0 * dot + sq.unsqueeze(1)).clamp(min=0)
        if squared:
            return d
        zero = d.eq(0).float()
        return (1.0 - zero) * torch.sqrt(d + zero * 1e-16)

    eucledian_distance = euclidean_distance


def same_label_mask(labels: Tensor) -> Tensor:
    """(n,) -> (n, n) bool: True where labels match and i != j (anchor-positive pairs)."""
    eq = labels.unsqueeze(0) == labels.unsqueeze(1)
    return eq & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)


def different_label_mask(labels: Tensor) -> Tensor:
    """(n,) -> (n, n) bool: True where labels differ (anchor-negative pairs)."""
    return labels.unsqueeze(0) != labels.unsqueeze(1)


def hardest_pairs(dist: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Per anchor: the largest same-label distance and the smallest other-label distance, (n, 1) each."""
    hardest_pos = (dist * same_label_mask(labels).float()).max(1, keepdim=True).values
    row_max = dist.max(1, keepdim=True).values
    # Same-label entries are lifted by the row maximum so that the min picks a negative.
    hardest_neg = (
        (dist + row_max * (~different_label_mask(labels)).float()).min(1, keepdim=True).values
    )
    return hardest_pos, hardest_neg


class BatchTripletLoss(Loss):
    """Base of the batch triplet losses: one text column, an int class label per example."""

    min_columns = max_columns = 1
    label_kind = CLASS
    data_shape = "(sentence,) texts with an integer class label; batches need several examples per label (GroupByLabelBatchSampler)"

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        self.check_inputs(len(embeddings), labels, embeddings[0].shape[0])
        return self.batch_loss(labels.view(-1), embeddings[0])

    def batch_loss(self, labels: Tensor, embeddings: Tensor) -> Tensor:
        raise NotImplementedError

    def _distance_name(self) -> str:
        return getattr(self.distance_metric, "__name__", str(self.distance_metric))
