"""One training example: its texts (one per column) and an optional label."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class InputExample:
    """A training example.

    Args:
        texts: the text columns, e.g. ``[sentence_a, sentence_b]``, ``[anchor, positive]``,
            ``[sentence]`` or ``[anchor, positive, negative, ...]``; for the listwise
            cross-encoder losses ``[query, [document, ...]]`` (a column may hold a list).
        label: a float score, an int class, a list of floats (teacher scores, a teacher
            embedding, or one relevance per document of a listwise example), or ``None``
            for losses that take no label.
        guid: an optional identifier, shown in error messages.
    """

    texts: list[str] = field(default_factory=list)
    label: Any = None
    guid: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.texts, str):
            raise TypeError("InputExample.texts must be a list of strings, not a single string")
        self.texts = [list(t) if isinstance(t, (list, tuple)) else t for t in self.texts]
        for t in self.texts:
            parts = t if isinstance(t, list) else [t]
            if not all(isinstance(x, str) for x in parts):
                bad = next(x for x in parts if not isinstance(x, str))
                raise TypeError(
                    "InputExample.texts must hold strings (or lists of strings), "
                    f"got {type(bad).__name__}: {bad!r}"
                )
