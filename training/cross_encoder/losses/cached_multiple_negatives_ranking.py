"""CachedMultipleNegativesRankingLoss: MultipleNegativesRankingLoss with gradient caching,
so that the number of pairs per batch is not bounded by activation memory."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ...losses.gradcache import RandState
from ..activation import SIGMOID
from .multiple_negatives_ranking import MultipleNegativesRankingLoss


class CachedMultipleNegativesRankingLoss(MultipleNegativesRankingLoss):
    """The loss and gradient of MultipleNegativesRankingLoss, scoring ``mini_batch_size``
    pairs at a time: every pair is scored once without autograd, the loss is backpropagated
    to the scores, and when the trainer backpropagates, each mini-batch is scored again with
    autograd (under its saved RNG state, so dropout repeats) and given its cached gradient."""

    uses_gradient_cache = True

    def __init__(
        self,
        model: nn.Module,
        num_negatives: int | None = 4,
        scale: float = 10.0,
        activation_fn: nn.Module | None = SIGMOID,
        mini_batch_size: int = 32,
        show_progress_bar: bool = False,
    ) -> None:
        super().__init__(
            model, num_negatives=num_negatives, scale=scale, activation_fn=activation_fn
        )
        if mini_batch_size < 1:
            raise ValueError(f"mini_batch_size must be positive, got {mini_batch_size}")
        self.mini_batch_size = mini_batch_size
        self.show_progress_bar = show_progress_bar

    def forward(self, inputs, labels=None) -> Tensor:
        self.check_columns(inputs, 2)
        queries = list(inputs[0])
        batch = len(queries)
        # The same candidate order as the uncached loss: positives, in-batch, hard negatives.
        candidates = list(inputs[1])
        for negatives in self.in_batch_negatives(queries, [list(c) for c in inputs[1:]]):
            candidates += negatives
        for negatives in inputs[2:]:
            candidates += list(negatives)
        pairs = list(zip(queries * (len(candidates) // batch), candidates))
        ranges = [
            (b, min(b + self.mini_batch_size, len(pairs)))
            for b in range(0, len(pairs), self.mini_batch_size)
        ]
        grad = torch.is_grad_enabled()
        leaves, states = [], []
        for b, e in ranges:
            states.append(RandState(self.model.device) if grad else None)
            with torch.no_grad():
                leaves.append(self.logits(pairs[b:e]).detach().requires_grad_(grad))
        loss = self.loss_from_logits(leaves, batch)
        if not grad:
            return loss
        loss.backward()
        cache = [leaf.grad if leaf.grad is not None else torch.zeros_like(leaf) for leaf in leaves]
        out = loss.detach().requires_grad_()

        def replay(grad_output: Tensor) -> None:
            with torch.enable_grad():
                for (b, e), cached, state in zip(ranges, cache, states):
                    with state.replay():
                        scores = self.logits(pairs[b:e])
                    torch.dot(scores.float(), cached.float()).mul(grad_output).backward()

        out.register_hook(replay)
        return out

    def config(self) -> dict:
        return {**super().config(), "mini_batch_size": self.mini_batch_size}
