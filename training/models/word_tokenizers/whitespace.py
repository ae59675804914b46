"""WhitespaceTokenizer: splits on white space; punctuation stripped, stop words dropped."""

from __future__ import annotations

from collections.abc import Iterable

from .base import WordTokenizer
from .stop_words import ENGLISH_STOP_WORDS


class WhitespaceTokenizer(WordTokenizer):
    """Splits a text on white space (``str.split``) and maps each piece to its vocabulary
    index: the piece as it is, else with punctuation stripped from both ends, else that
    lowercased. Stop words (tested at each step) and unknown pieces are dropped.

    Args:
        vocab: the words; a word's index is its position.
        stop_words: words never emitted (default: ``ENGLISH_STOP_WORDS``).
        do_lower_case: lowercase the whole text first.

    Saved as ``whitespacetokenizer_config.json``.
    """

    CONFIG_NAME = "whitespacetokenizer_config.json"

    def __init__(
        self,
        vocab: Iterable[str] = (),
        stop_words: Iterable[str] = ENGLISH_STOP_WORDS,
        do_lower_case: bool = False,
    ) -> None:
        super().__init__(vocab, stop_words, do_lower_case)

    def tokenize(self, text: str, **kwargs) -> list[int]:
        """The vocabulary indices of ``text``'s words, in order."""
        if self.do_lower_case:
            text = text.lower()
        found = (self._lookup(piece, ("strip", "lower")) for piece in text.split())
        return [idx for idx in found if idx is not None]
