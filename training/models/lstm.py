"""LSTM: a (bidirectional, multi-layer) LSTM over the token embeddings."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from ._config import read_module_config
from ._files import write_json
from ._weights import load_weights, save_weights

CONFIG_NAME = "lstm_config.json"


class LSTM(nn.Module):
    """Runs ``nn.LSTM`` over each text's real tokens only (packed by length, so padding
    changes nothing): ``token_embeddings`` (batch, seq, in) -> (batch, seq, hidden_dim x 2
    when bidirectional), zeros at padding positions.

    The lengths are ``features["sentence_lengths"]`` when present (word tokenizers give
    them), else the attention mask's row sums; at least 1, so an empty text runs over its
    one padding slot, as in sentence-transformers. An ONNX export keeps this as ONNX's
    ``LSTM`` operator with ``sequence_lens``.

    Args:
        word_embedding_dimension: size of the input token embeddings.
        hidden_dim: hidden size per direction.
        num_layers: stacked layers.
        dropout: dropout between layers (training only).
        bidirectional: also run right to left and concatenate.

    Saved as ``lstm_config.json`` and ``model.safetensors``.
    """

    def __init__(
        self,
        word_embedding_dimension: int,
        hidden_dim: int,
        num_layers: int = 1,
        dropout: float = 0,
        bidirectional: bool = True,
    ) -> None:
        super().__init__()
        self.word_embedding_dimension = int(word_embedding_dimension)
        self.hidden_dim = int(hidden_dim)
        self.num_layers = int(num_layers)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.encoder = nn.LSTM(
            self.word_embedding_dimension,
            self.hidden_dim,
            num_layers=self.num_layers,
            dropout=self.dropout,
            bidirectional=self.bidirectional,
            batch_first=True,
        )

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        tokens = features["token_embeddings"]
        lengths = features.get("sentence_lengths")
        if lengths is None:
            lengths = features["attention_mask"].sum(dim=1)
        lengths = torch.clamp(lengths, min=1)
        packed = nn.utils.rnn.pack_padded_sequence(
            tokens, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        out = self.encoder(packed)[0]
        features["token_embeddings"] = nn.utils.rnn.pad_packed_sequence(
            out, batch_first=True, total_length=tokens.shape[1]
        )[0]
        return features

    def get_word_embedding_dimension(self) -> int:
        return self.hidden_dim * (2 if self.bidirectional else 1)

    get_embedding_dimension = get_word_embedding_dimension

    def get_config_dict(self) -> dict:
        return {
            "word_embedding_dimension": self.word_embedding_dimension,
            "hidden_dim": self.hidden_dim,
            "num_layers": self.num_layers,
            "dropout": self.dropout,
            "bidirectional": self.bidirectional,
        }

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_json(path / CONFIG_NAME, self.get_config_dict())
        save_weights(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LSTM:
        path = Path(path)
        cfg = read_module_config(
            path / CONFIG_NAME,
            "LSTM",
            required=("word_embedding_dimension", "hidden_dim"),
            renames={"embedding_dimension": "word_embedding_dimension"},
            allowed=(
                "word_embedding_dimension",
                "hidden_dim",
                "num_layers",
                "dropout",
                "bidirectional",
            ),
        )
        module = cls(**cfg)
        load_weights(module, path, what="LSTM")
        return module
