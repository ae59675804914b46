"""DistillKLDivLoss: KL divergence from the teacher's to the student's softmax over candidates."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..similarity import function_name, pairwise_dot_score
from .base import TEACHER, Loss


class DistillKLDivLoss(Loss):
    """``KL(softmax(teacher / T_t) || softmax(student / T_s)) * T_s^2`` (batch mean).

    Data: (query, candidate_1, ..., candidate_N), N >= 2; label: the N teacher scores.
    Embeddings: N + 1 tensors (batch, dim); labels (batch, N).
    """

    min_columns, max_columns = 3, None
    label_kind = TEACHER
    data_shape = (
        "(query, candidate_1, candidate_2, ...) texts with the N teacher scores (N,) as label"
    )

    def __init__(
        self,
        model: nn.Module,
        similarity_fct=pairwise_dot_score,
        temperature: float = 1.0,
        student_temperature: float | None = None,
        teacher_temperature: float | None = None,
    ) -> None:
        super().__init__(model)
        self.similarity_fct = similarity_fct
        self.temperature = temperature
        self.student_temperature = (
            temperature if student_temperature is None else student_temperature
        )
        self.teacher_temperature = (
            temperature if teacher_temperature is None else teacher_temperature
        )
        for name in ("temperature", "student_temperature", "teacher_temperature"):
            value = getattr(self, name)
            if not 0 < value < math.inf:
                raise ValueError(
                    f"DistillKLDivLoss: {name} must be a positive finite number, got {value}"
                )

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        self.check_inputs(len(embeddings), labels)
        query, n_ways = embeddings[0], len(embeddings) - 1
        if labels.shape != (query.shape[0], n_ways):
            raise self.fail(
                f"got teacher scores of shape {tuple(labels.shape)}, expected ({query.shape[0]}, {n_ways})"
            )
        student = torch.stack(
            [self.similarity_fct(query, other) for other in embeddings[1:]], dim=1
        )
        log_p = torch.log_softmax(student / self.student_temperature, dim=1)
        q = torch.softmax(labels.detach() / self.teacher_temperature, dim=1)
        return F.kl_div(log_p, q, reduction="batchmean") * self.student_temperature**2

    def config(self) -> dict:
        cfg = {
            "similarity_fct": function_name(self.similarity_fct),
            "temperature": self.temperature,
        }
        if self.student_temperature != self.temperature:
            cfg["student_temperature"] = self.student_temperature
        if self.teacher_temperature != self.temperature:
            cfg["teacher_temperature"] = self.teacher_temperature
        return cfg
