"""Argument checks shared by the public functions: one place, one wording.

Values are checked in Python so that a bad one names the argument, instead of surfacing
as pybind11's "incompatible function arguments" or being silently coerced (a bool taken
as 1, a float truncated, a set encoded in arbitrary order).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable, Mapping, Set

import numpy as np

from . import _core

INT32_MAX = 2**31 - 1


def check_int(value: object, name: str, minimum: int = 1, maximum: int = INT32_MAX) -> int:
    """``value`` as an int in [minimum, maximum]; rejects bools, floats and strings."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    if value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}")
    return value


def check_threads(threads: object, name: str = "threads") -> int:
    """Thread count for the native core: None means every CPU this process may use (0 to
    the core); larger requests are capped at that number, with a warning."""
    if threads is None:
        return 0
    value = check_int(threads, name, minimum=1, maximum=2**63 - 1)
    available = _core.available_cpus()
    if value > available:
        warnings.warn(
            f"fastsbert: {name}={value} exceeds the {available} CPUs this process may use; "
            f"using {available}",
            stacklevel=3,
        )
        value = available
    return value


def check_texts(texts: object) -> tuple[list, bool]:
    """(texts as a list, whether one str was given). Checks the container only: the native
    core names any item that is not a str, or not encodable as UTF-8, by its index."""
    if isinstance(texts, str):
        return [texts], True
    if texts is None:
        raise TypeError("texts must be a str or a list of str, got None")
    if isinstance(texts, (bytes, bytearray, memoryview)):
        raise TypeError("texts must be a str or a list of str, got bytes (decode it first)")
    if isinstance(texts, Mapping):
        raise TypeError(
            f"texts must be a str or a list of str, got {type(texts).__name__} (pass "
            "list(d.values()) or list(d) to say which)"
        )
    if isinstance(texts, Set):  # set, frozenset, dict keys
        raise TypeError(
            f"texts must be an ordered sequence, got {type(texts).__name__}: its order is "
            "arbitrary, so rows could not be matched to texts (pass a list)"
        )
    if isinstance(texts, list):
        return texts, False
    if isinstance(texts, np.ndarray):
        if texts.ndim != 1:
            raise TypeError(f"texts must be 1-D, got an array of shape {texts.shape}")
        return texts.tolist(), False
    if not isinstance(texts, Iterable):
        raise TypeError(f"texts must be a str or a list of str, got {type(texts).__name__}")
    return list(texts), False  # tuples, generators, pandas Series, ...


def check_str_items(texts: list) -> None:
    """Type and UTF-8 checks for paths that do not go through the native core."""
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] is {type(t).__name__}, expected str")
        try:
            t.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"texts[{i}] cannot be encoded as UTF-8 (it holds a lone surrogate)"
            ) from None
