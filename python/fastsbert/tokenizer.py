"""Native tokenizer: Hugging Face tokenizer.json files read and run in C++.

Token ids are identical to the ``tokenizers`` library's (special tokens added, the
file's truncation applied, padding ignored). Files using a component the native code
does not reproduce raise :class:`UnsupportedTokenizerError` from :meth:`Tokenizer.from_file`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from . import _core

UnsupportedTokenizerError = _core.UnsupportedTokenizerError


def _as_list(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("texts must be a list of str, got a single str (use encode())")
    return texts if isinstance(texts, list) else list(texts)


class Tokenizer:
    """A tokenizer.json pipeline (normalizer, pre-tokenizer, model, post-processor).

    All methods release the GIL; batch methods spread texts over ``threads`` threads
    (0 = every core). ``max_length`` 0 keeps the file's truncation; a positive value
    cuts each sequence to that many tokens, special tokens included.
    """

    def __init__(self, core: _core.Tokenizer) -> None:
        self._core = core

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Tokenizer:
        """Loads a tokenizer.json; raises UnsupportedTokenizerError naming what is missing."""
        return cls(_core.Tokenizer.from_file(os.fspath(path)))

    @property
    def truncation_max_length(self) -> int:
        """The file's truncation length (0 when the file has none)."""
        return self._core.truncation_max_length

    @property
    def num_special_tokens(self) -> int:
        """Special tokens the post-processor adds to one sequence."""
        return self._core.num_special_tokens

    @property
    def pad_token_id(self) -> int:
        """The file's padding id, or -1 when it has no padding section."""
        return self._core.pad_token_id

    def token_to_id(self, token: str) -> int | None:
        i = self._core.token_to_id(token)
        return None if i < 0 else i

    def encode(self, text: str, max_length: int = 0) -> list[int]:
        """Token ids of one text."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return self._core.encode(text, max_length)

    def encode_batch(
        self, texts: Sequence[str], max_length: int = 0, threads: int = 0
    ) -> list[list[int]]:
        """Token ids of each text."""
        return self._core.encode_batch(_as_list(texts), max_length, threads)

    def encode_batch_csr(
        self, texts: Sequence[str], max_length: int = 0, threads: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """CSR ids: ``ids`` int64 (total,) and ``offsets`` int64 (n + 1,); text i is
        ``ids[offsets[i]:offsets[i + 1]]``."""
        return self._core.encode_batch_csr(_as_list(texts), max_length, threads)

    def encode_batch_padded(
        self, texts: Sequence[str], max_length: int = 0, threads: int = 0, pad_id: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Padded ids and attention mask, both int64 (n, longest sequence). ``pad_id``
        defaults to the file's padding id (0 when it has none)."""
        if pad_id is None:
            pad_id = max(self.pad_token_id, 0)
        return self._core.encode_batch_padded(_as_list(texts), max_length, threads, pad_id)
