"""SoftmaxLoss: a classifier on (u, v, |u - v|, u * v) trained with cross-entropy (the NLI objective)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import CLASS, Loss, batch_size, embed_columns


class SoftmaxLoss(Loss):
    """Cross-entropy of ``Linear(concat(...))`` over ``num_labels`` classes.

    Data: (sentence_a, sentence_b) with an int class in [0, num_labels).
    Embeddings: two (batch, embedding_dimension) tensors; labels (batch,) int64.
    Called with ``labels=None`` it returns ``(embeddings, logits)`` for evaluation.
    """

    label_kind = CLASS
    data_shape = "(sentence_a, sentence_b) texts with an integer class label in [0, num_labels)"

    def __init__(
        self,
        model: nn.Module,
        embedding_dimension: int | None = None,
        num_labels: int = 3,
        concatenation_sent_rep: bool = True,
        concatenation_sent_difference: bool = True,
        concatenation_sent_multiplication: bool = False,
        loss_fct: nn.Module | None = None,
        *,
        sentence_embedding_dimension: int | None = None,
    ) -> None:
        super().__init__(model)
        dim = embedding_dimension or sentence_embedding_dimension or model.get_sentence_embedding_dimension()
        self.num_labels = num_labels
        self.concatenation_sent_rep = concatenation_sent_rep
        self.concatenation_sent_difference = concatenation_sent_difference
        self.concatenation_sent_multiplication = concatenation_sent_multiplication
        n_vectors = (
            2 * concatenation_sent_rep
            + concatenation_sent_difference
            + concatenation_sent_multiplication
        )
        if n_vectors == 0:
            raise ValueError(
                "SoftmaxLoss: at least one of the concatenation_* options must be True"
            )
        self.classifier = nn.Linear(n_vectors * dim, num_labels, device=model.device)
        self.loss_fct = nn.CrossEntropyLoss() if loss_fct is None else loss_fct

    def logits(self, u: Tensor, v: Tensor) -> Tensor:
        """(batch, dim), (batch, dim) -> (batch, num_labels)."""
        parts = []
        if self.concatenation_sent_rep:
            parts += [u, v]
        if self.concatenation_sent_difference:
            parts.append((u - v).abs())
        if self.concatenation_sent_multiplication:
            parts.append(u * v)
        return self.classifier(torch.cat(parts, dim=1).to(self.classifier.weight.dtype))

    def forward(self, features, labels):
        features = list(features)
        if labels is None:
            self.check_inputs(len(features), torch.zeros(batch_size(features[0]), dtype=torch.long))
            reps = embed_columns(self.model, features)
            return reps, self.logits(*reps)
        return super().forward(features, labels)

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        self.check_inputs(len(embeddings), labels, embeddings[0].shape[0])
        labels = labels.view(-1)
        if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_labels):
            raise self.fail(
                f"got class labels in [{int(labels.min())}, {int(labels.max())}] with num_labels={self.num_labels}"
            )
        return self.loss_fct(self.logits(embeddings[0], embeddings[1]), labels)

    def config(self) -> dict:
        return {
            "num_labels": self.num_labels,
            "concatenation_sent_rep": self.concatenation_sent_rep,
            "concatenation_sent_difference": self.concatenation_sent_difference,
            "concatenation_sent_multiplication": self.concatenation_sent_multiplication,
        }
