"""LambdaLoss and its weighting schemes: pairwise logistic losses weighted by how much
swapping two documents changes NDCG (Wang et al., 2018)."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from ..activation import IDENTITY, activation_name
from .listwise import ListwiseLoss


class BaseWeightingScheme(nn.Module):
    """Weights of the document pairs: ``(gain, discount, true_sorted) -> (q, n, n)`` or a
    scalar; ``gain`` (q, n) is ``(2^label - 1) / maxDCG`` in predicted order, ``discount``
    (1, n) is ``log2(1 + rank)``."""

    def forward(self, gain: Tensor, discount: Tensor, true_sorted: Tensor) -> Tensor:
        raise NotImplementedError


class NoWeightingScheme(BaseWeightingScheme):
    """Every pair weighs 1 (RankNet)."""

    def forward(self, gain: Tensor, discount: Tensor, true_sorted: Tensor) -> Tensor:
        return torch.tensor(1.0, device=gain.device)


class NDCGLoss1Scheme(BaseWeightingScheme):
    """The gain of the first document of the pair at its rank: ``gain_i / discount_i``."""

    def forward(self, gain: Tensor, discount: Tensor, true_sorted: Tensor) -> Tensor:
        return (gain / discount).unsqueeze(2)


class NDCGLoss2Scheme(BaseWeightingScheme):
    """``|1/D(|i-j|) - 1/D(|i-j|+1)| * |gain_i - gain_j|``, with ``D(r) = log2(1 + r)``."""

    def forward(self, gain: Tensor, discount: Tensor, true_sorted: Tensor) -> Tensor:
        rank = torch.arange(1, gain.shape[1] + 1, device=gain.device)
        distance = (rank.unsqueeze(1) - rank.unsqueeze(0)).abs()
        # discount[0, -1] is read for distance 0 and zeroed below.
        delta = (
            discount[0, distance - 1].abs().reciprocal() - discount[0, distance].abs().reciprocal()
        ).abs()
        delta.fill_diagonal_(0)
        return delta.unsqueeze(0) * (gain.unsqueeze(2) - gain.unsqueeze(1)).abs()


class LambdaRankScheme(BaseWeightingScheme):
    """The NDCG change of swapping the two: ``|1/D_i - 1/D_j| * |gain_i - gain_j|``."""

    def forward(self, gain: Tensor, discount: Tensor, true_sorted: Tensor) -> Tensor:
        inverse = discount.reciprocal()
        return (inverse.unsqueeze(2) - inverse.unsqueeze(1)).abs() * (
            gain.unsqueeze(2) - gain.unsqueeze(1)
        ).abs()


class NDCGLoss2PPScheme(BaseWeightingScheme):
    """``mu * NDCGLoss2 + LambdaRank`` (the LambdaLoss paper's NDCG-Loss2++)."""

    def __init__(self, mu: float = 10.0) -> None:
        super().__init__()
        self.mu = mu
        self.ndcg_loss2 = NDCGLoss2Scheme()
        self.lambda_rank = LambdaRankScheme()

    def forward(self, gain: Tensor, discount: Tensor, true_sorted: Tensor) -> Tensor:
        return self.mu * self.ndcg_loss2(gain, discount, true_sorted) + self.lambda_rank(
            gain, discount, true_sorted
        )


_NDCG_LOSS2PP = NDCGLoss2PPScheme()  # the default, stateless apart from mu


class LambdaLoss(ListwiseLoss):
    """``-sum w_ij * log sigmoid(sigma * (s_i - s_j))`` over the pairs, in predicted order,
    where document i is more relevant than j (every finite pair for NDCGLoss1Scheme) and one
    of them ranks in the top ``k``, divided by the number of such pairs; ``reduction_log``
    ``"binary"`` measures it in bits."""

    def __init__(
        self,
        model: nn.Module,
        weighting_scheme: BaseWeightingScheme | None = _NDCG_LOSS2PP,
        k: int | None = None,
        sigma: float = 1.0,
        eps: float = 1e-10,
        reduction_log: Literal["natural", "binary"] = "binary",
        activation_fn: nn.Module | None = IDENTITY,
        mini_batch_size: int | None = None,
    ) -> None:
        super().__init__(model, activation_fn, mini_batch_size)
        if reduction_log not in ("natural", "binary"):
            raise ValueError(f"reduction_log must be 'natural' or 'binary', got {reduction_log!r}")
        self.weighting_scheme = weighting_scheme or NoWeightingScheme()
        self.k = k
        self.sigma = sigma
        self.eps = eps
        self.reduction_log = reduction_log

    def loss_from_lists(self, logits: Tensor, labels: Tensor, mask: Tensor) -> Tensor:
        n = logits.shape[1]
        device = logits.device
        scores, order = logits.sort(dim=-1, descending=True)
        ideal = labels.sort(dim=-1, descending=True).values
        true = labels.gather(1, order)  # labels in predicted order; -inf at padding
        diffs = true.unsqueeze(2) - true.unsqueeze(1)
        pairs = torch.isfinite(diffs)
        if not isinstance(self.weighting_scheme, NDCGLoss1Scheme):
            pairs &= diffs > 0
        k = self.k or n
        top_k = torch.zeros((n, n), dtype=torch.bool, device=device)
        top_k[:k, :] = True
        top_k[:, :k] = True
        true = true.clamp(min=0.0)
        ideal = ideal.clamp(min=0.0)
        discount = torch.log2(1.0 + torch.arange(1, n + 1, device=device).float()).unsqueeze(0)
        max_dcg = ((2.0**ideal - 1) / discount)[:, :k].sum(dim=-1).clamp(min=self.eps)
        gain = (2.0**true - 1) / max_dcg.unsqueeze(1)
        weights = self.weighting_scheme(gain, discount, true)
        score_diffs = (scores.unsqueeze(2) - scores.unsqueeze(1)).clamp(min=-1e8, max=1e8)
        score_diffs = score_diffs.masked_fill(torch.isnan(score_diffs), 0.0)
        losses = weights * nn.functional.logsigmoid(self.sigma * score_diffs)
        if self.reduction_log == "binary":
            losses = losses / math.log(2)
        selected = losses[pairs & top_k]
        return -selected.sum() / max(selected.numel(), 1)

    def config(self) -> dict:
        return {
            "weighting_scheme": activation_name(self.weighting_scheme),
            "k": self.k,
            "sigma": self.sigma,
            "eps": self.eps,
            "reduction_log": self.reduction_log,
            **super().config(),
        }
