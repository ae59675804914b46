"""WeightedLayerPooling: token embeddings as a learned weighted mean of hidden layers."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from ._config import read_module_config
from ._files import write_json
from ._weights import load_weights, save_weights


class WeightedLayerPooling(nn.Module):
    """``token_embeddings`` = sum_l w_l * hidden_l / sum_l w_l over the hidden states
    ``layer_start`` .. ``num_hidden_layers`` of ``features["all_layer_embeddings"]`` (the
    embedding layer's output is state 0). The Transformer writes those states when its
    encoder config has ``output_hidden_states``; without them this module does nothing.

    Args:
        word_embedding_dimension: the hidden size.
        num_hidden_layers: the encoder's layer count.
        layer_start: the first hidden state used.
        layer_weights: initial weights (default all 1), one per state used.

    Saved as ``config.json`` and ``model.safetensors`` (``layer_weights``).
    """

    def __init__(
        self,
        word_embedding_dimension: int,
        num_hidden_layers: int = 12,
        layer_start: int = 4,
        layer_weights: Tensor | None = None,
    ) -> None:
        super().__init__()
        self.word_embedding_dimension = int(word_embedding_dimension)
        self.num_hidden_layers = int(num_hidden_layers)
        self.layer_start = int(layer_start)
        count = self.num_hidden_layers + 1 - self.layer_start
        if count < 1:
            raise ValueError(
                f"layer_start {layer_start} is past the {num_hidden_layers} hidden layers"
            )
        self.layer_weights = nn.Parameter(
            torch.ones(count)
            if layer_weights is None
            else torch.as_tensor(layer_weights, dtype=torch.float32)
        )

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        layers = features.get("all_layer_embeddings")
        if layers is None:
            return features
        stacked = torch.stack(list(layers)[self.layer_start :])  # (layers, batch, seq, hidden)
        weights = self.layer_weights.view(-1, 1, 1, 1)
        features["token_embeddings"] = (weights * stacked).sum(dim=0) / self.layer_weights.sum()
        return features

    def get_word_embedding_dimension(self) -> int:
        return self.word_embedding_dimension

    get_embedding_dimension = get_word_embedding_dimension

    def get_config_dict(self) -> dict:
        return {
            "word_embedding_dimension": self.word_embedding_dimension,
            "layer_start": self.layer_start,
            "num_hidden_layers": self.num_hidden_layers,
        }

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_json(path / "config.json", self.get_config_dict())
        save_weights(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> WeightedLayerPooling:
        path = Path(path)
        cfg = read_module_config(
            path / "config.json",
            "WeightedLayerPooling",
            required=("word_embedding_dimension",),
            renames={"embedding_dimension": "word_embedding_dimension"},
            allowed=("word_embedding_dimension", "layer_start", "num_hidden_layers"),
        )
        module = cls(**cfg)
        load_weights(module, path, what="WeightedLayerPooling")
        return module
