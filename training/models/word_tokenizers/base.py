"""What the word tokenizers share: the vocabulary index and the vocabulary lookup rules."""

from __future__ import annotations

import string
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .._files import read_json_object, write_json

# The classic import path sentence-transformers records for each tokenizer class; every
# release since 2.x resolves it.
CLASSIC_PREFIX = "sentence_transformers.models.tokenizer."


class WordTokenizer:
    """A vocabulary (index = position) and the stop words that are dropped.

    Subclasses set ``CONFIG_NAME`` and implement ``words(text)`` (the text's candidate
    tokens) and ``_extra_config()``.
    """

    CONFIG_NAME = ""

    def __init__(
        self, vocab: Iterable[str], stop_words: Iterable[str], do_lower_case: bool
    ) -> None:
        self.stop_words = set(stop_words)
        self.do_lower_case = bool(do_lower_case)
        self.set_vocab(vocab)

    def set_vocab(self, vocab: Iterable[str]) -> None:
        """Replaces the vocabulary; a word listed twice keeps its last index."""
        self.vocab = list(vocab)
        self.word2idx = {word: idx for idx, word in enumerate(self.vocab)}

    def get_vocab(self) -> list[str]:
        return self.vocab

    def classic_name(self) -> str:
        """The ``tokenizer_class`` a WordEmbeddings config records for this tokenizer."""
        name = type(self).__name__
        return f"{CLASSIC_PREFIX}{name}.{name}"

    def _lookup(self, token: str, order: tuple[str, ...]) -> int | None:
        """The index of ``token``, tried as it is, then transformed by each step of ``order``
        (``strip``: punctuation stripped, ``lower``: lowercased) in turn; None when a stop
        word comes first or nothing matches."""
        if token in self.stop_words:
            return None
        if token in self.word2idx:
            return self.word2idx[token]
        for step in order:
            if step == "strip":
                token = token.strip(string.punctuation)
                if token in self.stop_words:
                    return None
                if token and token in self.word2idx:
                    return self.word2idx[token]
            else:
                token = token.lower()
                if token in self.stop_words:
                    return None
                if token in self.word2idx:
                    return self.word2idx[token]
        return None

    def _config(self) -> dict[str, Any]:
        return {
            "vocab": list(self.word2idx),
            "stop_words": sorted(self.stop_words),
            "do_lower_case": self.do_lower_case,
            **self._extra_config(),
        }

    def _extra_config(self) -> dict[str, Any]:
        return {}

    def save(self, path: str | Path) -> None:
        """Writes ``path/<CONFIG_NAME>`` (the vocabulary, stop words and options)."""
        Path(path).mkdir(parents=True, exist_ok=True)
        write_json(Path(path) / self.CONFIG_NAME, self._config())

    @classmethod
    def load(cls, path: str | Path) -> WordTokenizer:
        file = Path(path) / cls.CONFIG_NAME
        cfg = read_json_object(file, what=f"{cls.__name__} config")
        vocab = cfg.get("vocab")
        if not isinstance(vocab, list) or not all(isinstance(w, str) for w in vocab):
            raise ValueError(f"{file}: 'vocab' must be a list of strings")
        try:
            return cls(**cfg)
        except TypeError as exc:
            raise ValueError(f"{file}: unexpected {cls.__name__} settings: {exc}") from exc
