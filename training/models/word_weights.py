"""WordWeights: scales each token embedding by a per-word weight (e.g. its idf)."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from ._config import read_module_config
from ._files import write_json
from ._weights import load_weights, save_weights


def vocabulary_weights(
    vocab: list[str], word_weights: dict[str, float], unknown: float
) -> list[float]:
    """One weight per vocabulary word: its own, else its lowercase form's, else ``unknown``."""
    out = []
    for word in vocab:
        if word in word_weights:
            out.append(float(word_weights[word]))
        elif word.lower() in word_weights:
            out.append(float(word_weights[word.lower()]))
        else:
            out.append(float(unknown))
    return out


class WordWeights(nn.Module):
    """Multiplies ``token_embeddings`` (batch, seq, dim) by each token's weight (0 at padding)
    and writes ``token_weights_sum`` (batch,), which ``Pooling`` uses as the mean's divisor.

    Args:
        vocab: the tokenizer's vocabulary (index -> word).
        word_weights: word -> weight; may hold more or fewer words than ``vocab``.
        unknown_word_weight: the weight of vocabulary words without one.

    Saved as ``config.json`` and ``model.safetensors`` (``emb_layer.weight``, (vocab, 1)).
    """

    def __init__(
        self, vocab: list[str], word_weights: dict[str, float], unknown_word_weight: float = 1
    ) -> None:
        super().__init__()
        self.vocab = list(vocab)
        self.word_weights = dict(word_weights)
        self.unknown_word_weight = unknown_word_weight
        weights = vocabulary_weights(self.vocab, self.word_weights, unknown_word_weight)
        self.emb_layer = nn.Embedding.from_pretrained(
            torch.tensor(weights, dtype=torch.float32).unsqueeze(1), freeze=False
        )

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        tokens = features["token_embeddings"]
        weights = self.emb_layer(features["input_ids"]).squeeze(-1)
        weights = weights * features["attention_mask"].to(weights.dtype)
        features["token_embeddings"] = tokens * weights.unsqueeze(-1)
        features["token_weights_sum"] = weights.sum(dim=1)
        return features

    def get_config_dict(self) -> dict:
        return {
            "vocab": self.vocab,
            "word_weights": self.word_weights,
            "unknown_word_weight": self.unknown_word_weight,
        }

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_json(path / "config.json", self.get_config_dict())
        save_weights(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> WordWeights:
        path = Path(path)
        cfg = read_module_config(
            path / "config.json",
            "WordWeights",
            required=("vocab", "word_weights"),
            allowed=("vocab", "word_weights", "unknown_word_weight"),
        )
        module = cls(**cfg)
        load_weights(module, path, what="WordWeights")
        return module
