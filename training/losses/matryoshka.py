"""MatryoshkaLoss: train the leading dimensions of the embedding to work on their own."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import Loss, embed_columns

logger = logging.getLogger(__name__)


def shrink(embeddings: Tensor, dim: int) -> Tensor:
    """(batch, full_dim) -> (batch, dim): the first ``dim`` components, L2-normalised."""
    if dim > embeddings.shape[-1]:
        raise ValueError(
            f"Matryoshka dimension {dim} exceeds the embedding dimension {embeddings.shape[-1]}"
        )
    return F.normalize(embeddings[..., :dim], p=2, dim=-1)


def require_embedding_loss(wrapper: str, loss: nn.Module) -> None:
    if (
        not isinstance(loss, Loss)
        or type(loss).compute_loss_from_embeddings is Loss.compute_loss_from_embeddings
    ):
        raise ValueError(
            f"{wrapper} wraps losses that are a function of the embeddings; {type(loss).__name__} is not"
        )


class MatryoshkaLoss(Loss):
    """``sum_d weight_d * loss(embeddings truncated to d and re-normalised)``.

    Takes the data of the wrapped ``loss``. ``n_dims_per_step > 0`` draws that many
    dimensions at random (Python's ``random``) at each step instead of all of them.
    """

    def __init__(
        self,
        model: nn.Module,
        loss: nn.Module,
        matryoshka_dims: Sequence[int],
        matryoshka_weights: Sequence[float] | None = None,
        n_dims_per_step: int = -1,
    ) -> None:
        super().__init__(model)
        require_embedding_loss("MatryoshkaLoss", loss)
        self.loss = loss
        if not matryoshka_dims:
            raise ValueError("MatryoshkaLoss needs at least one dimension in matryoshka_dims")
        if any(d <= 0 for d in matryoshka_dims):
            raise ValueError("MatryoshkaLoss: all matryoshka_dims must be > 0")
        if matryoshka_weights is None:
            matryoshka_weights = [1] * len(matryoshka_dims)
        elif len(matryoshka_weights) != len(matryoshka_dims):
            raise ValueError(
                "MatryoshkaLoss: matryoshka_weights must be as long as matryoshka_dims"
            )
        full = model.get_sentence_embedding_dimension()
        if any(d > full for d in matryoshka_dims):
            raise ValueError(
                f"MatryoshkaLoss: matryoshka_dims cannot exceed the embedding dimension {full}"
            )
        if full not in matryoshka_dims:
            logger.warning(
                "MatryoshkaLoss: the full dimension %d is not among matryoshka_dims %s",
                full,
                list(matryoshka_dims),
            )
        pairs = sorted(zip(matryoshka_dims, matryoshka_weights), key=lambda p: p[0], reverse=True)
        self.matryoshka_dims = tuple(d for d, _ in pairs)
        self.matryoshka_weights = tuple(w for _, w in pairs)
        self.n_dims_per_step = n_dims_per_step
        self.uses_gradient_cache = getattr(loss, "uses_gradient_cache", False)
        # Same columns and labels as the wrapped loss.
        self.min_columns, self.max_columns = loss.min_columns, loss.max_columns
        self.label_kind, self.data_shape = loss.label_kind, loss.data_shape

    def _dim_indices(self) -> list[int]:
        indices = list(range(len(self.matryoshka_dims)))
        if 0 < self.n_dims_per_step < len(indices):
            indices = sorted(random.sample(indices, self.n_dims_per_step))
        return indices

    def forward(self, features, labels):
        features = list(features)
        self.loss.check_inputs(
            len(features), labels, features[0]["input_ids"].shape[0] if features else None
        )
        extra = self.loss.prepare(features)
        if self.uses_gradient_cache:
            return self.loss.forward_cached(
                features, labels, self.compute_loss_from_embeddings, **extra
            )
        return self.compute_loss_from_embeddings(
            embed_columns(self.model, features), labels, **extra
        )

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels, **extra) -> Tensor:
        full = embeddings[0].shape[-1]
        loss = 0.0
        for i in self._dim_indices():
            dim, weight = self.matryoshka_dims[i], self.matryoshka_weights[i]
            dim_labels = labels
            # Teacher embeddings (distillation labels) are truncated along with the student's.
            if isinstance(labels, Tensor) and labels.ndim in (2, 3) and labels.shape[-1] == full:
                dim_labels = labels[..., :dim]
            loss = loss + weight * self.loss.compute_loss_from_embeddings(
                [shrink(e, dim) for e in embeddings], dim_labels, **extra
            )
        return (
            loss
            if isinstance(loss, Tensor)
            else torch.zeros((), device=embeddings[0].device, requires_grad=True)
        )

    def config(self) -> dict:
        return {
            "loss": type(self.loss).__name__,
            "matryoshka_dims": self.matryoshka_dims,
            "matryoshka_weights": self.matryoshka_weights,
            "n_dims_per_step": self.n_dims_per_step,
        }
