"""Compact embeddings: int8 / uint8 scalar quantization and packed binary vectors.

The output precisions follow sentence-transformers' ``quantize_embeddings``, value for
value:

- ``float32``: unchanged;
- ``uint8``: per dimension, ``floor((x - lo) / step)`` clipped to [0, 255], where
  ``step = (hi - lo) / 255`` (1 where ``hi == lo``) and ``lo``/``hi`` are the calibration
  range; ``int8`` is the same minus 128;
- ``ubinary``: the sign bits (``x > 0``) packed 8 per byte, most significant bit first
  (``numpy.packbits``): ``dim / 8`` bytes per vector, 32x smaller than float32;
  ``binary`` is the same bytes minus 128, as int8.

Scalar ranges must be fixed for a whole corpus: vectors quantized with different ranges
are not comparable. Pass ``ranges`` (shape ``(2, dim)``: minima, maxima) or
``calibration_embeddings`` to take them from; only without either are they taken from the
embeddings being quantized (which needs more than one row). :func:`calibration_ranges`
computes them once for reuse, e.g. across the chunks of a long job.
"""

from __future__ import annotations

import numpy as np

PRECISIONS = ("float32", "int8", "uint8", "binary", "ubinary")


def check_precision(precision: object) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


def calibration_ranges(embeddings: np.ndarray) -> np.ndarray:
    """Per-dimension (min, max) of ``embeddings`` (n, dim): float32 array (2, dim)."""
    x = np.asarray(embeddings, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"calibration needs at least 2 embeddings as a (n, dim) array, got shape {x.shape}")
    return np.stack([x.min(axis=0), x.max(axis=0)])


def quantize_embeddings(
    embeddings: np.ndarray,
    precision: str,
    ranges: np.ndarray | None = None,
    calibration_embeddings: np.ndarray | None = None,
) -> np.ndarray:
    """``embeddings`` (n, dim) or (dim,) float, at ``precision`` (see the module doc)."""
    precision = check_precision(precision)
    x = np.asarray(embeddings)
    if x.dtype.kind not in "f":
        raise TypeError(f"embeddings must be floating point, got {x.dtype}")
    if precision == "float32":
        return x.astype(np.float32, copy=False)
    if precision in ("binary", "ubinary"):
        packed = np.packbits(x > 0, axis=-1)
        return packed if precision == "ubinary" else (packed.astype(np.int16) - 128).astype(np.int8)
    if ranges is None:
        source = x if calibration_embeddings is None else np.asarray(calibration_embeddings)
        if source.ndim == 1 or source.shape[0] < 2:
            raise ValueError(
                f"{precision} needs quantization ranges: pass ranges= or calibration_embeddings= "
                "(a single embedding cannot define them)"
            )
        ranges = calibration_ranges(source)
    ranges = np.asarray(ranges, dtype=np.float32)
    if ranges.shape != (2, x.shape[-1]):
        raise ValueError(f"ranges must have shape (2, {x.shape[-1]}), got {ranges.shape}")
    lo = ranges[0]
    step = (ranges[1] - lo) / 255
    step = np.where(step == 0, 1, step)
    q = np.clip(np.floor((x - lo) / step), 0, 255)
    return q.astype(np.uint8) if precision == "uint8" else (q - 128).astype(np.int8)
