"""Dropout on the sentence embedding (active in training only)."""

from __future__ import annotations

import os
from pathlib import Path

from torch import Tensor, nn

from ._config import read_module_config
from ._files import write_json


class Dropout(nn.Module):
    """``nn.Dropout(dropout)`` on ``sentence_embedding``; the identity at inference.
    Saved as ``config.json`` (``dropout``)."""

    def __init__(self, dropout: float = 0.2) -> None:
        super().__init__()
        self.dropout = float(dropout)
        self.dropout_layer = nn.Dropout(self.dropout)

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        features["sentence_embedding"] = self.dropout_layer(features["sentence_embedding"])
        return features

    def save(self, path: str | os.PathLike) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        write_json(Path(path) / "config.json", {"dropout": self.dropout})

    @classmethod
    def load(cls, path: str | os.PathLike) -> Dropout:
        return cls(
            **read_module_config(Path(path) / "config.json", "Dropout", allowed=("dropout",))
        )
