"""Gradient caching: the gradient of a large-batch loss with the memory of a small batch.

1. Embed every column in mini-batches without autograd, remembering each mini-batch's RNG
   state (so that dropout can be replayed).
2. Compute the loss on those embeddings as leaf tensors and backpropagate to them only.
3. When the trainer backpropagates the returned loss, re-embed each mini-batch with autograd
   under its saved RNG state and backpropagate ``<embedding, cached gradient>``.

The parameter gradient equals that of the plain loss on the full batch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


class RandState:
    """The CPU and CUDA generator states at capture time, restorable in a forked RNG scope."""

    def __init__(self, device: torch.device) -> None:
        self.cpu = torch.get_rng_state()
        self.cuda_devices = [device] if device.type == "cuda" else []
        self.cuda = [torch.cuda.get_rng_state(d) for d in self.cuda_devices]

    def replay(self):
        fork = torch.random.fork_rng(devices=self.cuda_devices)
        state = self

        class _Ctx:
            def __enter__(self_inner):
                fork.__enter__()
                torch.set_rng_state(state.cpu)
                for d, s in zip(state.cuda_devices, state.cuda):
                    torch.cuda.set_rng_state(s, d)

            def __exit__(self_inner, *exc):
                return fork.__exit__(*exc)

        return _Ctx()


def _slice(features: dict[str, Tensor], begin: int, end: int) -> dict[str, Tensor]:
    return {k: v[begin:end] for k, v in features.items()}


class GradCacheMixin:
    """For losses with ``model`` and ``mini_batch_size``: ``forward_cached`` runs a
    function of the embeddings with gradient caching."""

    uses_gradient_cache = True
    model: nn.Module
    mini_batch_size: int

    def _ranges(self, features: dict[str, Tensor]) -> list[tuple[int, int]]:
        n = features["input_ids"].shape[0]
        return [(b, min(b + self.mini_batch_size, n)) for b in range(0, n, self.mini_batch_size)]

    def forward_cached(
        self,
        features: list[dict[str, Tensor]],
        labels: Tensor | None,
        loss_fn: Callable[..., Tensor],
        **extra,
    ) -> Tensor:
        grad = torch.is_grad_enabled()
        reps, states = [], []
        for f in features:
            col, col_states = [], []
            for b, e in self._ranges(f):
                mb = _slice(f, b, e)
                col_states.append(RandState(mb["input_ids"].device) if grad else None)
                with torch.no_grad():
                    col.append(self.model(mb)["sentence_embedding"].detach().requires_grad_(grad))
            reps.append(col)
            states.append(col_states)
        if not grad:
            return loss_fn([torch.cat(c) for c in reps], labels, **extra)
        loss = loss_fn([torch.cat(c) for c in reps], labels, **extra)
        loss.backward()
        cache = [
            [r.grad if r.grad is not None else torch.zeros_like(r) for r in col] for col in reps
        ]
        out = loss.detach().requires_grad_()

        def replay(grad_output: Tensor) -> None:
            with torch.enable_grad():
                for f, col_grads, col_states in zip(features, cache, states):
                    for (b, e), g, st in zip(self._ranges(f), col_grads, col_states):
                        with st.replay():
                            r = self.model(_slice(f, b, e))["sentence_embedding"]
                        torch.dot(r.flatten().float(), g.flatten().float()).mul(
                            grad_output
                        ).backward()

        out.register_hook(replay)
        return out
