"""StaticEmbedding: the mean of per-token vectors (an embedding bag); texts -> embeddings."""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ._weights import read_weights, save_weights

TOKENIZER_NAME = "tokenizer.json"
_WEIGHT_KEY = "embedding.weight"


def fold_model2vec(embeddings, token_mapping=None, token_weights=None) -> Tensor:
    """One row per token id from a model2vec model's tensors: ``embeddings[mapping[id]] *
    weights[id]`` (the mapping and weights are optional), float32 (vocab, dim)."""
    table = torch.as_tensor(
        np.asarray(embeddings) if not isinstance(embeddings, Tensor) else embeddings
    )
    table = table.to(torch.float32)
    if token_mapping is not None:
        table = table[torch.as_tensor(np.asarray(token_mapping), dtype=torch.long)]
    if token_weights is not None:
        table = table * torch.as_tensor(np.asarray(token_weights), dtype=torch.float32).unsqueeze(1)
    return table.contiguous()


class StaticEmbedding(nn.Module):
    """The mean of the token vectors of each text (``nn.EmbeddingBag``, mode mean); an empty
    text gives zeros.

    Args:
        tokenizer: a ``tokenizers.Tokenizer`` or a fast ``transformers`` tokenizer; texts are
            encoded without special tokens and without padding.
        embedding_weights: (vocab, dim) initial vectors, or None for random ones...
        embedding_dim: ...of this size.

    ``tokenize`` gives ``input_ids`` / ``attention_mask`` (batch, seq), padded with 0;
    ``forward`` writes ``sentence_embedding`` (batch, dim). Saved as ``model.safetensors``
    (``embedding.weight``) and ``tokenizer.json``; loads model2vec directories too
    (``embeddings``, optional ``mapping`` and ``weights`` tensors).
    """

    def __init__(
        self, tokenizer, embedding_weights=None, embedding_dim: int | None = None, **kwargs
    ) -> None:
        super().__init__()
        from tokenizers import Tokenizer

        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is not None and getattr(tokenizer, "is_fast", False):
            tokenizer = copy.deepcopy(backend)
        elif not isinstance(tokenizer, Tokenizer):
            raise ValueError(
                "StaticEmbedding needs a fast tokenizer (tokenizers.Tokenizer or a fast transformers one)"
            )
        if embedding_weights is not None:
            weights = torch.as_tensor(
                np.asarray(embedding_weights)
                if not isinstance(embedding_weights, Tensor)
                else embedding_weights
            ).to(torch.float32)
            self.embedding = nn.EmbeddingBag.from_pretrained(
                weights.clone(), freeze=False, mode="mean"
            )
        elif embedding_dim is not None:
            self.embedding = nn.EmbeddingBag(
                tokenizer.get_vocab_size(), int(embedding_dim), mode="mean"
            )
        else:
            raise ValueError("StaticEmbedding needs embedding_weights or embedding_dim")
        self.num_embeddings = self.embedding.num_embeddings
        self.embedding_dim = self.embedding.embedding_dim
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()
        self.base_model = kwargs.get("base_model")

    @property
    def max_seq_length(self) -> float:
        return float("inf")

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Each text's token ids, without special tokens (the tokenizer's truncation applies)."""
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def tokenize(self, texts: Sequence[str], **kwargs) -> dict[str, Tensor]:
        ids = self.token_ids(texts)
        width = max([1, *map(len, ids)])
        input_ids = torch.zeros(len(ids), width, dtype=torch.long)
        mask = torch.zeros(len(ids), width, dtype=torch.long)
        for row, tokens in enumerate(ids):
            input_ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
            mask[row, : len(tokens)] = 1
        return {"input_ids": input_ids, "attention_mask": mask}

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        # The masked mean over padded rows equals the embedding bag over each text's ids;
        # unlike offsets it is a plain gather and sum, which an ONNX graph holds.
        vectors = nn.functional.embedding(features["input_ids"], self.embedding.weight)
        weights = features["attention_mask"].unsqueeze(-1).to(vectors.dtype)
        count = torch.clamp(weights.sum(dim=1), min=1.0)
        features["sentence_embedding"] = (vectors * weights).sum(dim=1) / count
        return features

    def get_sentence_embedding_dimension(self) -> int:
        return self.embedding_dim

    get_embedding_dimension = get_sentence_embedding_dimension

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_weights(self, path)
        self.tokenizer.save(str(path / TOKENIZER_NAME))

    @classmethod
    def load(cls, path: str | os.PathLike) -> StaticEmbedding:
        """Reads ``tokenizer.json`` and the weights (sentence-transformers' or model2vec's);
        a table whose row count differs from the tokenizer's vocabulary is a ``ValueError``
        naming both files."""
        from tokenizers import Tokenizer

        path = Path(path)
        tok_file = path / TOKENIZER_NAME
        if not tok_file.is_file():
            raise FileNotFoundError(f"{path}: missing {TOKENIZER_NAME} (StaticEmbedding)")
        try:
            tokenizer = Tokenizer.from_file(str(tok_file))
        except Exception as exc:
            raise ValueError(f"{tok_file}: corrupt tokenizer: {exc}") from exc
        state, weights_file = read_weights(path, what="StaticEmbedding")
        if _WEIGHT_KEY in state:
            table = state[_WEIGHT_KEY]
        elif "embeddings" in state:
            table = fold_model2vec(state["embeddings"], state.get("mapping"), state.get("weights"))
        else:
            raise ValueError(
                f"{weights_file}: neither {_WEIGHT_KEY!r} nor 'embeddings' (model2vec) is stored"
            )
        vocab = tokenizer.get_vocab_size()
        if table.dim() != 2 or table.shape[0] != vocab:
            raise ValueError(
                f"{weights_file}: the embedding table has shape {tuple(table.shape)} but {tok_file} "
                f"has {vocab} tokens"
            )
        return cls(tokenizer, embedding_weights=table)

    @classmethod
    def from_model2vec(cls, model_id_or_path: str | os.PathLike) -> StaticEmbedding:
        """A model2vec model directory (``model.safetensors`` with ``embeddings``, optional
        ``mapping``/``weights``, and ``tokenizer.json``), read without the model2vec package
        (Hub ids are resolved through the model cache)."""
        from ...model_cache import resolve_source

        module = cls.load(resolve_source(model_id_or_path))
        module.base_model = str(model_id_or_path)
        return module
