"""Word tokenizers the native core does not run (sentence-transformers' PhraseTokenizer),
run by sentence-transformers itself for models exported with ``"word_tokenizer"`` in
fastsbert.json. They offer the one method of HF ``tokenizers`` that :class:`Encoder` calls
on a fallback tokenizer, ``encode_batch``, so the rest of the road (truncation, batching,
the ONNX graph) is shared."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from .export_format import read_config

_WARNED: set[str] = set()


class _Encoding(NamedTuple):
    ids: list[int]


class PythonWordTokenizer:
    """sentence-transformers' word tokenizer of ``model_dir``: ids without special tokens."""

    def __init__(self, model_dir: Path, kind: str) -> None:
        try:
            from sentence_transformers.sentence_transformer.modules import tokenizer as st_tok
        except ImportError as e:
            raise ImportError(f"{model_dir}: its {kind} word tokenizer runs through "
                              "sentence-transformers (and nltk), which are not installed") from e
        classes = {"phrase": "PhraseTokenizer", "whitespace": "WhitespaceTokenizer"}
        self._tokenizer = getattr(st_tok, classes[kind]).load(str(model_dir))

    def encode_batch(self, texts: Sequence[str], add_special_tokens: bool = True) -> list[_Encoding]:
        return [_Encoding(self._tokenizer.tokenize(t)) for t in texts]


def word_tokenizer_fallback(model_dir: Path, reason: str) -> PythonWordTokenizer | None:
    """The Python word tokenizer of a model whose fastsbert.json names one that the native
    core cannot run (warning once with ``reason``), else None."""
    spec = read_config(model_dir).get("word_tokenizer")
    if not isinstance(spec, dict) or spec.get("type") not in ("phrase", "whitespace"):
        return None
    if reason not in _WARNED:
        _WARNED.add(reason)
        warnings.warn(f"fastsbert: {reason}; tokenizing with sentence-transformers instead",
                      stacklevel=4)
    return PythonWordTokenizer(model_dir, spec["type"])
