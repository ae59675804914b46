"""CoSENTLoss: a ranking loss over all pairs of examples in the batch."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..similarity import function_name, pairwise_cos_sim
from .base import SCORE, Loss


def cosent(scores: Tensor, labels: Tensor, scale: float) -> Tensor:
    """``log(1 + sum over (i, j) with label_i < label_j of exp(scale * (s_i - s_j)))``.

    scores, labels: (n,). Sorting by label lets the sum over all label-ordered pairs be
    computed in O(n log n): for each i, the pairs j with a higher label form a suffix of the
    sorted order, whose log-sum-exp of ``-s_j`` is a reversed cumulative log-sum-exp.
    """
    scores = scores.float() * scale
    labels = labels.view(-1)
    if labels.dtype == torch.bool:
        labels = labels.int()
    labels, order = labels.sort()
    scores = scores[order]
    first_higher = torch.searchsorted(labels, labels, right=True)
    suffix = torch.logcumsumexp(-scores.flip(0), dim=0).flip(0)
    suffix = torch.cat((suffix, scores.new_full((1,), -torch.inf)))
    terms = scores + suffix[first_higher]
    return torch.logsumexp(torch.cat((scores.new_zeros(1), terms)), dim=0)


class CoSENTLoss(Loss):
    """CoSENT: pairs with a higher gold score should get a higher similarity than pairs with
    a lower one. Data: (sentence_a, sentence_b) with a float score; embeddings: two
    (batch, dim) tensors; labels (batch,)."""

    label_kind = SCORE
    data_shape = "(sentence_a, sentence_b) texts with a float similarity score label (batch,)"

    def __init__(
        self, model: nn.Module, scale: float = 20.0, similarity_fct=pairwise_cos_sim
    ) -> None:
        super().__init__(model)
        self.scale = scale
        self.similarity_fct = similarity_fct

    def compute_loss_from_embeddings(self, embeddings: list[Tensor], labels: Tensor) -> Tensor:
        self.check_inputs(len(embeddings), labels, embeddings[0].shape[0])
        return cosent(self.similarity_fct(embeddings[0], embeddings[1]), labels, self.scale)

    def config(self) -> dict:
        return {"scale": self.scale, "similarity_fct": function_name(self.similarity_fct)}
