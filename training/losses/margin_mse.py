"""MarginMSELoss: match the student's score margins (positive - negative) to a teacher's."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..similarity import function_name, pairwise_dot_score
from .base import TEACHER, Loss


class MarginMSELoss(Loss):
    """``MSE(sim(q, p) - sim(q, n_k), teacher_margin_k)``.

    Data: (query, positive, negative_1, ..., negative_k); label: the k teacher margins, or
    the k + 1 teacher scores (positive first) from which the margins are taken, or one
    float when k = 1. Embeddings: k + 2 tensors (batch, dim); labels (batch,), (batch, k)
    or (batch, k + 1).
    """

    min_columns, max_columns = 3, None
    label_kind = TEACHER
    data_shape = "(query, positive, negative...) texts with teacher margins (k,) or teacher scores (k + 1,) as label"

    def __init__(self, model: nn.Module, similarity_fct=pairwise_dot_score) -> None:
        super().__init__(model)
        self.similarity_fct = similarity_fct

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        self.check_inputs(len(embeddings), labels)
        query, positive, negatives = embeddings[0], embeddings[1], embeddings[2:]
        n, k = query.shape[0], len(negatives)
        if labels.shape == (n, k + 1):
            labels = labels[:, :1] - labels[:, 1:]
        if labels.shape == (n,):
            labels = labels.unsqueeze(1)
        if labels.shape != (n, k):
            raise self.fail(
                f"got labels of shape {tuple(labels.shape)}, expected ({n}, {k}) margins or ({n}, {k + 1}) scores"
            )
        pos = self.similarity_fct(query, positive)
        margins = torch.stack([pos - self.similarity_fct(query, neg) for neg in negatives], dim=1)
        return F.mse_loss(margins, labels.detach().to(margins.dtype))

    def config(self) -> dict:
        return {"similarity_fct": function_name(self.similarity_fct)}
