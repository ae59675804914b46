"""LayerNorm: layer normalisation of the sentence embedding."""

from __future__ import annotations

import os
from pathlib import Path

from torch import Tensor, nn

from ._config import read_module_config
from ._files import write_json
from ._weights import load_weights, save_weights


class LayerNorm(nn.Module):
    """``nn.LayerNorm(dimension)`` on ``sentence_embedding`` (batch, dimension).
    Saved as ``config.json`` (``dimension``) and ``model.safetensors``."""

    def __init__(self, dimension: int) -> None:
        super().__init__()
        self.dimension = int(dimension)
        self.norm = nn.LayerNorm(self.dimension)

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        features["sentence_embedding"] = self.norm(features["sentence_embedding"])
        return features

    def get_sentence_embedding_dimension(self) -> int:
        return self.dimension

    get_embedding_dimension = get_sentence_embedding_dimension

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_json(path / "config.json", {"dimension": self.dimension})
        save_weights(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LayerNorm:
        path = Path(path)
        cfg = read_module_config(
            path / "config.json", "LayerNorm", required=("dimension",), allowed=("dimension",)
        )
        module = cls(**cfg)
        load_weights(module, path, what="LayerNorm")
        return module
