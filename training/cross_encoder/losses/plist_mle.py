"""PListMLELoss: the Plackett-Luce likelihood of the input order, with position weights
(Lan et al., 2014)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..activation import IDENTITY, activation_name
from .listwise import ListwiseLoss


class PListMLELambdaWeight(nn.Module):
    """Weight of each position: ``2^(n - rank) - 1`` for a list of n documents (scaled down
    by ``2^(n - 127)`` for lists past 127, where the powers would overflow float32), 0 at
    padding; or ``rank_discount_fn(mask)`` when given."""

    def __init__(self, rank_discount_fn=None) -> None:
        super().__init__()
        self.rank_discount_fn = rank_discount_fn

    def forward(self, mask: Tensor) -> Tensor:
        if self.rank_discount_fn is not None:
            return self.rank_discount_fn(mask)
        n = mask.sum(dim=1, keepdim=True)
        rank = torch.arange(1, mask.shape[1] + 1, device=mask.device).expand_as(mask)
        shift = (n - 127).clamp_min(0)
        return (torch.pow(2.0, n - rank - shift) - torch.pow(2.0, -shift)) * mask


_POSITION_WEIGHTS = PListMLELambdaWeight()  # the default, stateless


class PListMLELoss(ListwiseLoss):
    """``-sum_i w_i * log P(document i first among documents i..n)`` per query, averaged
    over queries. The order is the input order (``respect_input_order``, documents listed
    from most to least relevant) or that of the labels. ``lambda_weight=None`` is ListMLE."""

    padding_logit = 1e-16

    def __init__(
        self,
        model: nn.Module,
        lambda_weight: PListMLELambdaWeight | None = _POSITION_WEIGHTS,
        activation_fn: nn.Module | None = IDENTITY,
        mini_batch_size: int | None = None,
        respect_input_order: bool = True,
    ) -> None:
        super().__init__(model, activation_fn, mini_batch_size)
        self.lambda_weight = lambda_weight
        self.respect_input_order = respect_input_order
        self.eps = 1e-10

    def loss_from_lists(self, logits: Tensor, labels: Tensor, mask: Tensor) -> Tensor:
        if not self.respect_input_order:
            order = labels.sort(dim=1, descending=True).indices
            logits, mask_sorted = logits.gather(1, order), mask.gather(1, order)
        else:
            mask_sorted = mask
        masked = logits.masked_fill(~mask_sorted, torch.finfo(logits.dtype).min)
        # log of sum_{j >= i} exp(s_j): a reversed cumulative logsumexp.
        normalizers = masked.flip(1).logcumsumexp(dim=1).flip(1)
        log_probs = logits - normalizers
        if self.lambda_weight is not None:
            weights = self.lambda_weight(mask)
            log_probs = log_probs * (weights / (weights.sum(dim=1, keepdim=True) + self.eps))
        log_probs = log_probs.masked_fill(~mask_sorted, 0.0)
        per_query = -log_probs.sum(dim=1)
        if not torch.any(per_query):
            return torch.tensor(0.0, device=logits.device, requires_grad=True)
        return per_query.mean()

    def config(self) -> dict:
        return {
            "lambda_weight": None
            if self.lambda_weight is None
            else activation_name(self.lambda_weight),
            **super().config(),
            "respect_input_order": self.respect_input_order,
        }
