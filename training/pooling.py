"""Pooling: token embeddings (batch, seq, hidden) -> sentence embeddings (batch, dim)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

# Order in which several modes are concatenated; the classic on-disk config lists them so.
POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")

# Classic sentence-transformers 1_Pooling/config.json keys, one boolean per mode.
_CONFIG_KEYS = {
    "cls": "pooling_mode_cls_token",
    "max": "pooling_mode_max_tokens",
    "mean": "pooling_mode_mean_tokens",
    "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens",
    "weightedmean": "pooling_mode_weightedmean_tokens",
    "lasttoken": "pooling_mode_lasttoken",
}


class Pooling(nn.Module):
    """Pools token embeddings over the attention mask.

    Args:
        dimension: hidden size of the token embeddings.
        modes: one mode name or several (concatenated in ``POOLING_MODES`` order):
            ``cls`` (first token), ``max``, ``mean``, ``mean_sqrt_len_tokens`` (sum / sqrt(len)),
            ``weightedmean`` (position-weighted mean), ``lasttoken`` (last unmasked token).
    """

    def __init__(self, dimension: int, modes: str | Sequence[str] = "mean") -> None:
        super().__init__()
        modes = (modes,) if isinstance(modes, str) else tuple(modes)
        unknown = [m for m in modes if m not in POOLING_MODES]
        if unknown or not modes:
            raise ValueError(f"Pooling modes must be among {POOLING_MODES}, got {modes!r}")
        self.modes = tuple(m for m in POOLING_MODES if m in modes)
        self.dimension = dimension

    @property
    def output_dimension(self) -> int:
        return self.dimension * len(self.modes)

    def forward(self, token_embeddings: Tensor, attention_mask: Tensor) -> Tensor:
        """(batch, seq, hidden), (batch, seq) -> (batch, hidden * len(modes))."""
        mask = attention_mask.to(token_embeddings.dtype).unsqueeze(-1)
        outputs = []
        for mode in self.modes:
            if mode == "cls":
                first = attention_mask.to(torch.int).argmax(dim=1)
                outputs.append(token_embeddings[torch.arange(len(first)), first])
            elif mode == "max":
                masked = token_embeddings.masked_fill(mask == 0, float("-inf"))
                outputs.append(masked.max(dim=1).values)
            elif mode in ("mean", "mean_sqrt_len_tokens"):
                acc = (
                    torch.float32
                    if token_embeddings.dtype in (torch.float16, torch.bfloat16)
                    else token_embeddings.dtype
                )
                total = (token_embeddings * mask).sum(dim=1, dtype=acc)
                count = mask.sum(dim=1, dtype=acc).clamp(min=1e-9)
                denom = count if mode == "mean" else count.sqrt()
                outputs.append((total / denom).to(token_embeddings.dtype))
            elif mode == "weightedmean":
                positions = torch.arange(
                    1, token_embeddings.shape[1] + 1, device=mask.device, dtype=mask.dtype
                )
                # Left padding shifts the weights so that the first real token weighs 1.
                offset = attention_mask.to(torch.int32).argmax(dim=1).to(mask.dtype)
                weights = mask * (positions.view(1, -1, 1) - offset.view(-1, 1, 1))
                outputs.append(
                    (token_embeddings * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
                )
            else:  # lasttoken
                seq_len = token_embeddings.shape[1]
                values, idx = attention_mask.flip(1).max(1)
                idx = torch.where(values == 0, seq_len - 1, idx)
                last = seq_len - idx - 1
                outputs.append((token_embeddings * mask)[torch.arange(len(last)), last])
        return torch.cat(outputs, dim=-1)

    def config(self) -> dict:
        """The classic ``1_Pooling/config.json`` content."""
        cfg = {"word_embedding_dimension": self.dimension}
        for mode, key in _CONFIG_KEYS.items():
            cfg[key] = mode in self.modes
        cfg["include_prompt"] = True
        return cfg

    @classmethod
    def from_config(cls, cfg: dict) -> Pooling:
        """Reads both the classic boolean keys and the newer ``pooling_mode`` key."""
        dim = cfg.get("word_embedding_dimension", cfg.get("embedding_dimension"))
        if "pooling_mode" in cfg:
            modes = cfg["pooling_mode"]
        else:
            modes = [mode for mode, key in _CONFIG_KEYS.items() if cfg.get(key)]
        if cfg.get("include_prompt") is False:
            raise ValueError("Pooling with include_prompt=False is not supported")
        return cls(dim, modes)
