"""WordEmbeddings: a word tokenizer and an embedding table; texts -> token embeddings."""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ._files import read_json_object, write_json
from ._weights import read_weights, save_weights
from .word_tokenizers import WhitespaceTokenizer, WordTokenizer, load_word_tokenizer

CONFIG_NAME = "wordembedding_config.json"
_WEIGHT_KEY = "emb_layer.weight"


def word_batch(token_ids: list[list[int]], max_seq_length: int | None) -> dict[str, Tensor]:
    """Pads word-index lists with 0 to the longest (at least one slot, so that an empty text
    still has a row): ``input_ids`` and ``attention_mask`` (batch, seq) int64,
    ``sentence_lengths`` (batch,) int64."""
    if max_seq_length is not None:
        token_ids = [ids[:max_seq_length] for ids in token_ids]
    lengths = [len(ids) for ids in token_ids]
    width = max([1, *lengths])
    ids = torch.zeros(len(token_ids), width, dtype=torch.long)
    mask = torch.zeros(len(token_ids), width, dtype=torch.long)
    for row, tokens in enumerate(token_ids):
        ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        mask[row, : len(tokens)] = 1
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "sentence_lengths": torch.tensor(lengths, dtype=torch.long),
    }


class WordEmbeddings(nn.Module):
    """Looks each word index up in a table (e.g. GloVe vectors).

    Args:
        tokenizer: a ``WordTokenizer`` (``WhitespaceTokenizer`` or ``PhraseTokenizer``)
            whose vocabulary indexes the rows of ``embedding_weights``.
        embedding_weights: (vocab, dim) array, tensor or nested list.
        update_embeddings: whether training updates the table.
        max_seq_length: texts are cut to this many words.

    ``forward(features)`` reads ``input_ids`` (batch, seq) and writes ``token_embeddings``
    (batch, seq, dim). Saved as ``wordembedding_config.json``, ``model.safetensors``
    (``emb_layer.weight``) and the tokenizer's config file.
    """

    def __init__(
        self,
        tokenizer: WordTokenizer,
        embedding_weights,
        update_embeddings: bool = False,
        max_seq_length: int = 1000000,
    ) -> None:
        super().__init__()
        if not isinstance(tokenizer, WordTokenizer):
            raise TypeError(
                f"tokenizer must be a WhitespaceTokenizer or PhraseTokenizer, got {type(tokenizer).__name__}"
            )
        weights = torch.as_tensor(
            np.asarray(embedding_weights)
            if isinstance(embedding_weights, list)
            else embedding_weights
        ).to(torch.float32)
        if weights.dim() != 2:
            raise ValueError(
                f"embedding_weights must be (vocab, dim), got shape {tuple(weights.shape)}"
            )
        self.emb_layer = nn.Embedding.from_pretrained(weights.clone(), freeze=not update_embeddings)
        self.embeddings_dimension = int(weights.shape[1])
        self.tokenizer = tokenizer
        self.update_embeddings = bool(update_embeddings)
        self.max_seq_length = max_seq_length

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        features["token_embeddings"] = self.emb_layer(features["input_ids"])
        return features

    def tokenize(self, texts: Sequence[str], **kwargs) -> dict[str, Tensor]:
        """Word indices of each text, cut to ``max_seq_length`` and padded (see ``word_batch``)."""
        return word_batch([self.tokenizer.tokenize(t) for t in texts], self.max_seq_length)

    def get_word_embedding_dimension(self) -> int:
        return self.embeddings_dimension

    get_embedding_dimension = get_word_embedding_dimension

    def get_config_dict(self) -> dict:
        return {
            "tokenizer_class": self.tokenizer.classic_name(),
            "update_embeddings": self.update_embeddings,
            "max_seq_length": self.max_seq_length,
        }

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_json(path / CONFIG_NAME, self.get_config_dict())
        save_weights(self, path)
        self.tokenizer.save(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> WordEmbeddings:
        """Reads the config, the tokenizer and the table; a table whose row count differs
        from the vocabulary size is a ``ValueError`` naming both files."""
        path = Path(path)
        file = path / CONFIG_NAME
        cfg = read_json_object(file, what="WordEmbeddings config")
        tokenizer = load_word_tokenizer(cfg.get("tokenizer_class", ""), path, config_file=file)
        state, weights_file = read_weights(path, what="WordEmbeddings")
        if _WEIGHT_KEY not in state:
            raise ValueError(f"{weights_file}: no {_WEIGHT_KEY!r} tensor (WordEmbeddings)")
        table = state[_WEIGHT_KEY]
        if table.dim() != 2 or table.shape[0] != len(tokenizer.vocab):
            raise ValueError(
                f"{weights_file}: the embedding table has shape {tuple(table.shape)} but "
                f"{path / tokenizer.CONFIG_NAME} lists {len(tokenizer.vocab)} words"
            )
        return cls(
            tokenizer,
            table,
            update_embeddings=bool(cfg.get("update_embeddings", False)),
            max_seq_length=int(cfg.get("max_seq_length", 1000000)),
        )

    @classmethod
    def from_text_file(
        cls,
        embeddings_file_path: str | os.PathLike,
        update_embeddings: bool = False,
        item_separator: str = " ",
        tokenizer: WordTokenizer | None = None,
        max_vocab_size: int | None = None,
    ) -> WordEmbeddings:
        """Reads a GloVe or word2vec text file (optionally ``.gz``): one ``word v1 v2 ...``
        per line; a leading ``count dim`` header line is skipped. Row 0 becomes a zero
        ``PADDING_TOKEN``; lines whose length differs from the first are skipped. The
        vocabulary is set on ``tokenizer`` (default ``WhitespaceTokenizer()``)."""
        path = Path(embeddings_file_path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: embeddings file not found")
        tokenizer = tokenizer if tokenizer is not None else WhitespaceTokenizer()
        vocab: list[str] = []
        rows: list[list[float]] = []
        dim = None
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf8") as fh:
            for line_no, line in enumerate(fh, 1):
                parts = line.rstrip().split(item_separator)
                if not vocab and len(parts) == 2:  # the word2vec header
                    continue
                if dim is None:
                    dim = len(parts) - 1
                    vocab.append("PADDING_TOKEN")
                    rows.append([0.0] * dim)
                if len(parts) - 1 != dim:
                    continue
                try:
                    rows.append([float(x) for x in parts[1:]])
                except ValueError as exc:
                    raise ValueError(f"{path}:{line_no}: not a number: {exc}") from None
                vocab.append(parts[0])
                if max_vocab_size is not None and 0 < max_vocab_size < len(vocab):
                    break
        if dim is None:
            raise ValueError(f"{path}: no embeddings in the file")
        tokenizer.set_vocab(vocab)
        return cls(
            tokenizer, np.asarray(rows, dtype=np.float32), update_embeddings=update_embeddings
        )
