"""A saved word tokenizer, read by the class name its module's config records."""

from __future__ import annotations

from pathlib import Path

from ...errors import UnsupportedModelError
from .base import WordTokenizer
from .phrase import PhraseTokenizer
from .whitespace import WhitespaceTokenizer

_CLASSES: dict[str, type[WordTokenizer]] = {
    c.__name__: c for c in (WhitespaceTokenizer, PhraseTokenizer)}
TOKENIZER_CLASSES = tuple(_CLASSES)


def load_word_tokenizer(class_path: str, path: Path, *, config_file: Path) -> WordTokenizer:
    """The tokenizer ``class_path`` (a dotted class name; only the last part counts, since
    the import path moved between releases) saved in ``path``."""
    cls = _CLASSES.get(str(class_path).rsplit(".", 1)[-1])
    if cls is None:
        raise UnsupportedModelError(
            f"{config_file}: tokenizer_class {class_path!r} is not supported "
            f"(supported: {', '.join(TOKENIZER_CLASSES)})"
        )
    return cls.load(path)
