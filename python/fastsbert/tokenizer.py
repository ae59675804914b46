"""Native tokenizer: Hugging Face tokenizer.json files read and run in C++.

:class:`Tokenizer` is the native class itself (typed by the generated ``_core.pyi``).
Token ids are identical to the ``tokenizers`` library's (special tokens added, the file's
truncation applied, padding ignored). Files using a component the native code does not
reproduce raise :class:`UnsupportedTokenizerError` from :meth:`Tokenizer.from_file`.

    >>> tok = Tokenizer.from_file("tokenizer.json")
    >>> ids, offsets = tok.encode_batch_csr(["hello world", "good morning"])
"""

from __future__ import annotations

from ._core import Tokenizer, UnsupportedTokenizerError

__all__ = ["Tokenizer", "UnsupportedTokenizerError"]
