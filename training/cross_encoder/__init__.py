"""Cross-encoders: train rerankers that score (query, document) pairs jointly.

``CrossEncoder`` (the model), ``losses`` and ``evaluation`` follow sentence-transformers'
``cross_encoder`` package: names, options, metrics and the saved layout.
"""

from __future__ import annotations

import importlib

_SUBMODULES = ("evaluation", "losses")

__all__ = ["CrossEncoder", "evaluation", "losses"]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name == "CrossEncoder":
        from .model import CrossEncoder

        return CrossEncoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
