"""MSELoss: regress student embeddings onto teacher embeddings (knowledge distillation)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import TEACHER, Loss


class MSELoss(Loss):
    """Mean squared error between each column's student embedding and its teacher embedding,
    averaged over columns.

    Data: (sentence, ...) texts; label: the teacher embedding (teacher_dim,) shared by all
    columns, or one per column (n_columns, teacher_dim). Batched labels are
    (batch, teacher_dim) or (batch, n_columns, teacher_dim). ``projection_dim`` adds a
    trainable Linear from the student dimension to the teacher's.
    """

    min_columns, max_columns = 1, None
    label_kind = TEACHER
    data_shape = "(sentence, ...) texts with a teacher embedding label of shape (teacher_dim,) or (n_columns, teacher_dim)"

    def __init__(self, model: nn.Module, projection_dim: int | None = None) -> None:
        super().__init__(model)
        self.projection_dim = projection_dim
        self.projection = None
        if projection_dim is not None:
            self.projection = nn.Linear(
                model.get_sentence_embedding_dimension(), projection_dim, device=model.device
            )

    def _teacher_columns(self, labels: Tensor | list[Tensor], n_columns: int) -> list[Tensor]:
        if isinstance(labels, (list, tuple)):
            if len(labels) != n_columns:
                raise self.fail(f"got {len(labels)} teacher tensors for {n_columns} columns")
            return list(labels)
        if labels.dim() == 2:
            return [labels] * n_columns
        if labels.dim() == 3:
            if labels.shape[1] != n_columns:
                raise self.fail(
                    f"got teacher labels for {labels.shape[1]} columns, the data has {n_columns}"
                )
            return list(labels.unbind(1))
        raise self.fail(f"got labels of shape {tuple(labels.shape)}")

    def compute_loss_from_embeddings(
        self, embeddings: list[Tensor], labels: Tensor | list[Tensor]
    ) -> Tensor:
        """embeddings: columns of (batch, dim); labels: (batch, t), (batch, columns, t) or a list."""
        if labels is None:
            raise self.fail("the examples have no labels")
        teachers = self._teacher_columns(labels, len(embeddings))
        losses = []
        for student, teacher in zip(embeddings, teachers):
            teacher = teacher.detach().to(device=student.device, dtype=student.dtype)
            if self.projection is not None:
                student = self.projection(student)
            if student.shape != teacher.shape:
                raise self.fail(
                    f"student embeddings {tuple(student.shape)} and teacher labels {tuple(teacher.shape)} differ in shape"
                )
            losses.append(F.mse_loss(student, teacher))
        return torch.stack(losses).mean()

    def config(self) -> dict:
        return {"projection_dim": self.projection_dim}
