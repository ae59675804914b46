"""PhraseTokenizer: NLTK word tokens, with vocabulary phrases (``New_York``) merged."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .base import WordTokenizer
from .stop_words import ENGLISH_STOP_WORDS


class PhraseTokenizer(WordTokenizer):
    """Splits a text with NLTK's ``word_tokenize`` (one line, no sentence splitting), then
    merges runs of tokens that form a vocabulary phrase: words joined by
    ``ngram_separator``, at most ``max_ngram_length`` words, longest phrases first, as
    written or lowercased. Each token then maps to its index as it is, else lowercased,
    else with punctuation stripped; stop words and unknown tokens are dropped.

    Args:
        vocab: the words and phrases; a word's index is its position.
        stop_words: words never emitted (default: ``ENGLISH_STOP_WORDS``).
        do_lower_case: stored with the config (as sentence-transformers does, the text is
            not lowercased; lookups fall back to the lowercased token anyway).
        ngram_separator: the character joining a phrase's words in the vocabulary.
        max_ngram_length: longer phrases of the vocabulary are ignored.

    Needs ``nltk``. Saved as ``phrasetokenizer_config.json``.
    """

    CONFIG_NAME = "phrasetokenizer_config.json"

    def __init__(
        self,
        vocab: Iterable[str] = (),
        stop_words: Iterable[str] = ENGLISH_STOP_WORDS,
        do_lower_case: bool = False,
        ngram_separator: str = "_",
        max_ngram_length: int = 5,
    ) -> None:
        try:
            import nltk  # noqa: F401
        except ImportError as exc:
            raise ImportError("PhraseTokenizer needs nltk: pip install nltk") from exc
        self.ngram_separator = ngram_separator
        self.max_ngram_length = int(max_ngram_length)
        super().__init__(vocab, stop_words, do_lower_case)

    def set_vocab(self, vocab: Iterable[str]) -> None:
        super().set_vocab(vocab)
        sep = self.ngram_separator
        self.ngram_lookup: set[str] = set()
        self.ngram_lengths: set[int] = set()
        if not sep:
            return
        for word in self.vocab:
            n = word.count(sep) + 1
            # A doubled separator marks a malformed entry (seen in word2vec files).
            if sep in word and sep + sep not in word and n <= self.max_ngram_length:
                self.ngram_lookup.add(word)
                self.ngram_lengths.add(n)

    def _merge_phrases(self, tokens: list[str]) -> list[str]:
        for n in sorted(self.ngram_lengths, reverse=True):
            i = 0
            while i <= len(tokens) - n:
                phrase = self.ngram_separator.join(tokens[i : i + n])
                if phrase in self.ngram_lookup:
                    tokens[i : i + n] = [phrase]
                elif phrase.lower() in self.ngram_lookup:
                    tokens[i : i + n] = [phrase.lower()]
                i += 1
        return tokens

    def tokenize(self, text: str, **kwargs) -> list[int]:
        """The vocabulary indices of ``text``'s tokens and phrases, in order."""
        from nltk import word_tokenize

        tokens = self._merge_phrases(word_tokenize(text, preserve_line=True))
        found = (self._lookup(token, ("lower", "strip")) for token in tokens)
        return [idx for idx in found if idx is not None]

    def _extra_config(self) -> dict[str, Any]:
        return {"ngram_separator": self.ngram_separator, "max_ngram_length": self.max_ngram_length}
