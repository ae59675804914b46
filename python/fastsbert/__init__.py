"""fastsbert: fast sentence embeddings.

    >>> import fastsbert
    >>> emb = fastsbert.encode(["A man is playing a flute.", "Someone plays a flute."])
    >>> emb.shape
    (2, 384)

Inference needs only NumPy and ONNX Runtime; a model that ships a ready ``onnx/model.onnx``
is prepared with ``onnx`` alone (:mod:`fastsbert.graft`); exporting other models needs the
``export`` extra and fine-tuning (``fastsbert.training``) the ``train`` extra.
"""

from __future__ import annotations

from .cross_encoder import CrossEncoder
from .encoder import Encoder, encode, encode_document, encode_query, paraphrase_mining
from .similarity import (
    community_detection,
    cuda_available,
    paraphrase_mining_embeddings,
    semantic_search,
    simd_level,
    simd_levels,
    simd_rates,
    topk,
)
from .streaming import encode_file
from .tokenizer import Tokenizer, UnsupportedTokenizerError

from ._core import version as _native_version

__version__: str = _native_version()  # pyproject.toml's, compiled into the native core

__all__ = [
    "Encoder",
    "CrossEncoder",
    "encode",
    "encode_query",
    "encode_document",
    "encode_file",
    "Tokenizer",
    "UnsupportedTokenizerError",
    "export",
    "topk",
    "semantic_search",
    "paraphrase_mining",
    "paraphrase_mining_embeddings",
    "community_detection",
    "simd_level",
    "simd_levels",
    "simd_rates",
    "cuda_available",
    "__version__",
]


def __getattr__(name: str):
    # The exporter imports torch; load it only when asked for.
    if name == "export":
        from .exporter import export

        return export
    raise AttributeError(f"module 'fastsbert' has no attribute {name!r}")
