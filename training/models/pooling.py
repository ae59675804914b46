"""Pooling: token embeddings (batch, seq, hidden) -> a sentence embedding (batch, dim)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from ...st_config import LEGACY_MODE_KEYS, POOLING_MODES
from ._files import read_json_object, write_json


def _modes_tuple(pooling_mode: str | Sequence[str]) -> tuple[str, ...]:
    modes = (pooling_mode,) if isinstance(pooling_mode, str) else tuple(pooling_mode)
    if not modes:
        raise ValueError(
            "pooling_mode is empty; expected one or more of " + ", ".join(POOLING_MODES)
        )
    for mode in modes:
        if mode not in POOLING_MODES:
            raise ValueError(f"unknown pooling mode {mode!r}; expected one of {POOLING_MODES}")
    return modes


class Pooling(nn.Module):
    """Pools token embeddings over the attention mask, as sentence-transformers does.

    Args:
        word_embedding_dimension: hidden size of the token embeddings.
        pooling_mode: one mode or several, concatenated in the order given: ``cls`` (first
            real token), ``max``, ``mean``, ``mean_sqrt_len_tokens`` (sum / sqrt(count)),
            ``weightedmean`` (weights 1, 2, ... from the first real token), ``lasttoken``
            (last real token). None reads the ``pooling_mode_*`` booleans (mean when none).
        pooling_mode_cls_token, ...: the classic booleans; several are concatenated in
            ``POOLING_MODES`` order. Ignored when ``pooling_mode`` is given.
        include_prompt: False leaves the prompt's tokens (``features["prompt_length"]``)
            out of the pooled positions.

    ``forward(features)`` reads ``token_embeddings`` (batch, seq, hidden) and
    ``attention_mask`` (batch, seq) and writes ``sentence_embedding`` (batch, hidden * modes).
    """

    def __init__(
        self,
        word_embedding_dimension: int,
        pooling_mode: str | Sequence[str] | None = None,
        pooling_mode_cls_token: bool = False,
        pooling_mode_max_tokens: bool = False,
        pooling_mode_mean_tokens: bool = False,
        pooling_mode_mean_sqrt_len_tokens: bool = False,
        pooling_mode_weightedmean_tokens: bool = False,
        pooling_mode_lasttoken: bool = False,
        include_prompt: bool = True,
    ) -> None:
        super().__init__()
        if pooling_mode is None:
            flags = (
                pooling_mode_cls_token,
                pooling_mode_max_tokens,
                pooling_mode_mean_tokens,
                pooling_mode_mean_sqrt_len_tokens,
                pooling_mode_weightedmean_tokens,
                pooling_mode_lasttoken,
            )
            pooling_mode = tuple(m for m, on in zip(POOLING_MODES, flags) if on) or "mean"
        if (
            isinstance(word_embedding_dimension, bool)
            or not isinstance(word_embedding_dimension, int)
            or word_embedding_dimension < 1
        ):
            raise ValueError(
                f"word_embedding_dimension must be a positive int, got {word_embedding_dimension!r}"
            )
        self.modes = _modes_tuple(pooling_mode)
        self.word_embedding_dimension = word_embedding_dimension
        self.include_prompt = bool(include_prompt)

    @property
    def pooling_mode(self) -> str | tuple[str, ...]:
        """One mode name, or a tuple of them when several are concatenated."""
        return self.modes[0] if len(self.modes) == 1 else self.modes

    def get_sentence_embedding_dimension(self) -> int:
        return self.word_embedding_dimension * len(self.modes)

    def __repr__(self) -> str:
        return f"Pooling({self.get_config_dict()})"

    # ----------------------------------------------------------------- forward
    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        tokens = features["token_embeddings"]
        mask = features["attention_mask"]
        # The first real token: 0 unless the batch is left-padded.
        first = mask.to(torch.int32).argmax(dim=1)  # int32: ONNX Runtime has no int64 ArgMax
        if not self.include_prompt and "prompt_length" in features:
            mask = _without_prompt(mask, first, features["prompt_length"])
        features["sentence_embedding"] = torch.cat(
            [self._pool(mode, tokens, mask, first, features.get("token_weights_sum"))
             for mode in self.modes],
            dim=-1,
        )
        return features

    @staticmethod
    def _pool(mode: str, tokens: Tensor, mask: Tensor, first: Tensor,
              weight_sum: Tensor | None = None) -> Tensor:
        # `weight_sum` (batch,): the divisor of the means when WordWeights scaled the tokens.
        # Indices and sizes stay tensors so that a traced graph keeps batch and length dynamic.
        hidden = tokens.shape[-1]
        weights = mask.unsqueeze(-1).to(tokens.dtype)
        if mode == "cls":
            start = mask.to(torch.int32).argmax(dim=1)  # the first position left in `mask`
            index = start.to(torch.int64).view(-1, 1, 1).expand(-1, 1, hidden)
            return torch.gather(tokens, 1, index).squeeze(1)
        if mode == "max":
            return tokens.masked_fill(weights == 0, float("-inf")).max(dim=1).values
        if mode in ("mean", "mean_sqrt_len_tokens"):
            # Half-precision sums lose too much; accumulate in float32 as sentence-transformers does.
            acc = torch.float32 if tokens.dtype in (torch.float16, torch.bfloat16) else tokens.dtype
            total = (tokens * weights).sum(dim=1, dtype=acc)
            count = weights.sum(dim=1, dtype=acc) if weight_sum is None else weight_sum.unsqueeze(-1).to(acc)
            count = torch.clamp(count, min=1e-9)
            return (total / (count if mode == "mean" else torch.sqrt(count))).to(tokens.dtype)
        if mode == "weightedmean":
            seq = torch.ones_like(mask[0], dtype=tokens.dtype).cumsum(0)  # 1, 2, ..., seq_len
            position = seq.view(1, -1, 1) - first.to(tokens.dtype).view(-1, 1, 1)
            w = weights * position
            total = w.sum(dim=1) if weight_sum is None else weight_sum.unsqueeze(-1).to(w.dtype)
            return (tokens * w).sum(dim=1) / torch.clamp(total, min=1e-9)
        # lasttoken: the last position the mask keeps (the first when it keeps none)
        mask_i = mask.to(torch.int32)
        seq_len = torch.ones_like(mask_i[0]).sum()
        found, from_end = mask_i.flip(1).max(dim=1)
        from_end = torch.where(found == 0, seq_len - 1, from_end)
        index = (seq_len - 1 - from_end).to(torch.int64).view(-1, 1, 1).expand(-1, 1, hidden)
        return torch.gather(tokens * weights, 1, index).squeeze(1)

    # ----------------------------------------------------------------- files
    def get_config_dict(self) -> dict:
        """The classic ``config.json``: every sentence-transformers release reads it. A
        concatenation in an order the booleans cannot express adds ``pooling_mode``."""
        cfg: dict = {"word_embedding_dimension": self.word_embedding_dimension}
        for key, mode in LEGACY_MODE_KEYS.items():
            cfg[key] = mode in self.modes
        if len(self.modes) > 1 and list(self.modes) != [
            m for m in POOLING_MODES if m in self.modes
        ]:
            cfg["pooling_mode"] = list(self.modes)
        cfg["include_prompt"] = self.include_prompt
        return cfg

    def save(self, path: str | os.PathLike) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        write_json(Path(path) / "config.json", self.get_config_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Pooling:
        """Reads ``path/config.json`` in any sentence-transformers layout: the classic
        booleans, ``pooling_mode`` (a name or a list), ``embedding_dimension``."""
        file = Path(path) / "config.json"
        cfg = read_json_object(file, what="Pooling module config")
        dim = cfg.get("word_embedding_dimension", cfg.get("embedding_dimension"))
        if not isinstance(dim, int):
            raise ValueError(f"{file}: Pooling config lacks word_embedding_dimension")
        mode = cfg.get("pooling_mode")
        if mode is None:
            mode = tuple(m for key, m in LEGACY_MODE_KEYS.items() if cfg.get(key)) or "mean"
        try:
            return cls(dim, mode, include_prompt=cfg.get("include_prompt", True))
        except ValueError as exc:
            raise ValueError(f"{file}: {exc}") from exc


def _without_prompt(mask: Tensor, first: Tensor, prompt_length) -> Tensor:
    """``mask`` with the prompt's tokens (the first ``prompt_length`` real ones) cleared."""
    if isinstance(prompt_length, Tensor):
        prompt_length = prompt_length.reshape(-1)[0]
    positions = torch.arange(mask.shape[1], device=mask.device).view(1, -1)
    prompt = positions < (first.view(-1, 1) + prompt_length)
    return mask.masked_fill(prompt, 0)
