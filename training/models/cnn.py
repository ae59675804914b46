"""CNN: 1-D convolutions of several widths over the token embeddings."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from ._config import read_module_config
from ._files import write_json
from ._weights import load_weights, save_weights

CONFIG_NAME = "cnn_config.json"


class CNN(nn.Module):
    """One ``Conv1d`` per kernel size (padding ``(k - 1) // 2``), outputs concatenated:
    ``token_embeddings`` (batch, seq, in) -> (batch, seq', out_channels * len(kernel_sizes)).
    Padding positions are zeroed first.

    Args:
        in_word_embedding_dimension: size of the input token embeddings.
        out_channels: channels per kernel size.
        kernel_sizes: the kernel widths (odd widths keep the sequence length).
        stride_sizes: one stride per kernel (default 1).

    Saved as ``cnn_config.json`` and ``model.safetensors``.
    """

    def __init__(
        self,
        in_word_embedding_dimension: int,
        out_channels: int = 256,
        kernel_sizes: list[int] = (1, 3, 5),
        stride_sizes: list[int] | None = None,
    ) -> None:
        super().__init__()
        self.in_word_embedding_dimension = int(in_word_embedding_dimension)
        self.out_channels = int(out_channels)
        self.kernel_sizes = [int(k) for k in kernel_sizes]
        self.stride_sizes = (
            [int(s) for s in stride_sizes] if stride_sizes else [1] * len(self.kernel_sizes)
        )
        if len(self.stride_sizes) != len(self.kernel_sizes):
            raise ValueError(
                f"CNN has {len(self.kernel_sizes)} kernel sizes but {len(self.stride_sizes)} strides"
            )
        self.convs = nn.ModuleList(
            nn.Conv1d(
                self.in_word_embedding_dimension,
                self.out_channels,
                kernel_size=k,
                stride=s,
                padding=(k - 1) // 2,
            )
            for k, s in zip(self.kernel_sizes, self.stride_sizes)
        )

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        tokens = features["token_embeddings"]
        if "attention_mask" in features:
            tokens = tokens.masked_fill(features["attention_mask"].unsqueeze(-1) == 0, 0)
        channels_first = tokens.transpose(1, 2)
        out = [conv(channels_first) for conv in self.convs]
        features["token_embeddings"] = torch.cat(out, dim=1).transpose(1, 2)
        return features

    def get_word_embedding_dimension(self) -> int:
        return self.out_channels * len(self.kernel_sizes)

    get_embedding_dimension = get_word_embedding_dimension

    def get_config_dict(self) -> dict:
        return {
            "in_word_embedding_dimension": self.in_word_embedding_dimension,
            "out_channels": self.out_channels,
            "kernel_sizes": self.kernel_sizes,
            "stride_sizes": self.stride_sizes,
        }

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_json(path / CONFIG_NAME, self.get_config_dict())
        save_weights(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> CNN:
        path = Path(path)
        cfg = read_module_config(
            path / CONFIG_NAME,
            "CNN",
            required=("in_word_embedding_dimension",),
            renames={"in_embedding_dimension": "in_word_embedding_dimension"},
            allowed=("in_word_embedding_dimension", "out_channels", "kernel_sizes", "stride_sizes"),
        )
        module = cls(**cfg)
        load_weights(module, path, what="CNN")
        return module
