"""Word-level tokenizers of the WordEmbeddings and BoW modules: a text -> a list of
vocabulary indices, with sentence-transformers' names, rules and config files."""

from .base import WordTokenizer
from .loading import TOKENIZER_CLASSES, load_word_tokenizer
from .phrase import PhraseTokenizer
from .stop_words import ENGLISH_STOP_WORDS
from .whitespace import WhitespaceTokenizer

__all__ = [
    "ENGLISH_STOP_WORDS",
    "TOKENIZER_CLASSES",
    "PhraseTokenizer",
    "WhitespaceTokenizer",
    "WordTokenizer",
    "load_word_tokenizer",
]
