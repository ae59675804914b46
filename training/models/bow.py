"""BoW: a text -> its (weighted) term counts over the vocabulary; tf-idf with idf weights."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from ._config import read_module_config
from ._files import write_json
from .word_embeddings import word_batch
from .word_tokenizers import WhitespaceTokenizer
from .word_weights import vocabulary_weights


class BoW(nn.Module):
    """A bag of words: ``sentence_embedding`` (batch, vocab) holds, per vocabulary word, its
    weight times its count in the text (or its weight once, without
    ``cumulative_term_frequency``).

    Args:
        vocab: the words (duplicates dropped, first kept); tokenised with a
            ``WhitespaceTokenizer`` without stop words or lowercasing.
        word_weights: word -> weight (e.g. idf).
        unknown_word_weight: the weight of vocabulary words without one.
        cumulative_term_frequency: count repeated words (else each counts once).

    ``tokenize`` gives ``input_ids`` / ``attention_mask``; ``forward`` turns them into the
    counts (sentence-transformers computes them while tokenising; the vectors are the same,
    and computing them in ``forward`` lets the exported graph hold them). Saved as
    ``config.json`` only.
    """

    def __init__(
        self,
        vocab: list[str],
        word_weights: dict[str, float] | None = None,
        unknown_word_weight: float = 1,
        cumulative_term_frequency: bool = True,
    ) -> None:
        super().__init__()
        self.vocab = list(dict.fromkeys(vocab))
        self.word_weights = dict(word_weights or {})
        self.unknown_word_weight = unknown_word_weight
        self.cumulative_term_frequency = bool(cumulative_term_frequency)
        weights = vocabulary_weights(self.vocab, self.word_weights, unknown_word_weight)
        self.register_buffer(
            "weights", torch.tensor(weights, dtype=torch.float32), persistent=False
        )
        self.tokenizer = WhitespaceTokenizer(self.vocab, stop_words=(), do_lower_case=False)

    def tokenize(self, texts: Sequence[str], **kwargs) -> dict[str, Tensor]:
        return word_batch([self.tokenizer.tokenize(t) for t in texts], None)

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        ids = features["input_ids"]
        mask = features["attention_mask"].to(torch.float32)
        counts = torch.zeros(ids.shape[0], len(self.vocab), dtype=torch.float32, device=ids.device)
        counts = counts.scatter_add(1, ids, mask)
        if not self.cumulative_term_frequency:
            counts = (counts > 0).to(torch.float32)
        features["sentence_embedding"] = counts * self.weights
        return features

    def get_sentence_embedding_dimension(self) -> int:
        return len(self.vocab)

    get_embedding_dimension = get_sentence_embedding_dimension

    def get_config_dict(self) -> dict:
        return {
            "vocab": self.vocab,
            "word_weights": self.word_weights,
            "unknown_word_weight": self.unknown_word_weight,
            "cumulative_term_frequency": self.cumulative_term_frequency,
        }

    def save(self, path: str | os.PathLike) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        write_json(Path(path) / "config.json", self.get_config_dict())

    @classmethod
    def load(cls, path: str | os.PathLike) -> BoW:
        cfg = read_module_config(
            Path(path) / "config.json",
            "BoW",
            required=("vocab",),
            allowed=("vocab", "word_weights", "unknown_word_weight", "cumulative_term_frequency"),
        )
        return cls(**cfg)
