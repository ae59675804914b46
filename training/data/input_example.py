"""One training example: its texts (one per column) and an optional label."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class InputExample:
    """A training example.

    Args:
        texts: the text columns, e.g. ``[sentence_a, sentence_b]``, ``[anchor, positive]``,
            ``[sentence]`` or ``[anchor, positive, negative, ...]``.
        label: a float score, an int class, a list of floats (teacher scores or a teacher
            embedding), or ``None`` for losses that take no label.
        guid: an optional identifier, shown in error messages.
    """

    texts: list[str] = field(default_factory=list)
    label: Any = None
    guid: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.texts, str):
            raise TypeError("InputExample.texts must be a list of strings, not a single string")
        self.texts = list(self.texts)
        for t in self.texts:
            if not isinstance(t, str):
                raise TypeError(
                    f"InputExample.texts must hold strings, got {type(t).__name__}: {t!r}"
                )
