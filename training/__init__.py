"""fastsbert.training: fine-tune sentence encoders and cross-encoders (PyTorch), saving
models in the sentence-transformers layout that fastsbert's exporter turns into ONNX.

``fastsbert.training.models`` (the module stack: Transformer, Pooling, Dense, Normalize)
needs only torch and transformers (the ``[export]`` extra); training needs the
``[train]`` extra. Names are imported on first use, so that importing one part does not
pull in the dependencies of the others. Nothing in the inference path imports this package.
"""

from __future__ import annotations

import importlib

_SUBMODULES = ("cross_encoder", "data", "evaluation", "losses", "mining", "models")
_ATTRIBUTES = {
    "CrossEncoder": ".cross_encoder.model",
    "InputExample": ".data",
    "mine_hard_negatives": ".mining",
    "SentenceEncoder": ".sentence_encoder",
    "fit": ".trainer",
}

__all__ = [
    "CrossEncoder",
    "InputExample",
    "SentenceEncoder",
    "cross_encoder",
    "data",
    "evaluation",
    "fit",
    "losses",
    "mine_hard_negatives",
    "mining",
    "models",
]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(_ATTRIBUTES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
