"""The int8 variant of an exported cross-encoder, and the accuracy guard that admits it.

Recipe: :mod:`fastsbert.quantize`'s (SmoothQuant, then static QDQ of the encoder's matrix
products; the pooler and the classification head, which ONNX exports as Gemm, stay in
float32), calibrated on pairs of the bundled calibration texts. The guard scores those
pairs with float32 and with the candidate through fastsbert's engine and compares the
logits: Spearman correlation (mean over labels) and the largest absolute difference
relative to the spread (standard deviation) of the float32 logits. Below the thresholds
the variant is refused with an error naming the figures, unless forced; the refusal is
recorded in fastsbert.json (``variants.int8``) so that ``auto`` never picks it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import _core, dtypes
from ._runtime import onnxruntime_library
from .export_format import CROSS_ENCODER_KIND as KIND
from .export_format import read_config
from .guard import calibration_texts
from .quantize import VariantGuard, add_guarded, ensure_guarded

# Guard thresholds (see the module docstring).
MIN_SPEARMAN = 0.98
MAX_REL_DIFF = 0.35


def calibration_pairs() -> list[tuple[str, str]]:
    """Pairs of the bundled calibration texts: each text with one a third of the set
    away, so that short and long, related and unrelated texts meet."""
    texts = list(calibration_texts())
    step = max(1, len(texts) // 3)
    return [(texts[i], texts[(i + step) % len(texts)]) for i in range(len(texts))]


def _engine(model_dir: Path, dtype: str = dtypes.FLOAT32, threads: int = 1) -> _core.Encoder:
    """The native engine on ``model_dir`` (the guard scores through it, as users do)."""
    return _core.Encoder(str(model_dir), device="cpu", threads=threads,
                         ort_library=onnxruntime_library(), dtype=dtype)


def _logits(model_dir: Path, dtype: str, pairs) -> np.ndarray:
    """(n, L) logits of ``pairs``: the second half of each row of the graph's output."""
    first, second = [a for a, _ in pairs], [b for _, b in pairs]
    rows = _engine(model_dir, dtype, threads=0).encode_pairs(first, second, batch_size=32)
    labels = int(read_config(model_dir)["num_labels"])
    return np.ascontiguousarray(rows[:, labels:])


def _feeds(model_dir: Path, pairs) -> list[dict[str, np.ndarray]]:
    """One unpadded feed per pair: pad positions never widen the activation ranges."""
    inputs = read_config(model_dir)["inputs"]
    engine = _engine(model_dir)
    ids, types, offsets = engine.tokenize_pairs([a for a, _ in pairs], [b for _, b in pairs],
                                                max_length=engine.max_seq_length)
    feeds = []
    for a, b in zip(offsets[:-1], offsets[1:]):
        x = ids[a:b][None, :]
        row = {"input_ids": x, "attention_mask": np.ones_like(x),
               "token_type_ids": types[a:b][None, :]}
        feeds.append({n: row[n] for n in inputs})
    return feeds


def quantize_cross_encoder(model_dir: Path, out_path: Path, pairs) -> None:
    """Writes the int8 graph of ``model_dir/model.onnx`` to ``out_path`` with
    :mod:`fastsbert.quantize`'s recipe, calibrated on ``pairs``."""
    from . import quantize

    quantize.build_int8(model_dir / "model.onnx", out_path, _feeds(model_dir, pairs))


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks of the rows of each column (average ranks for ties)."""
    out = np.empty_like(x, dtype=np.float64)
    for j in range(x.shape[1]):
        col = x[:, j]
        order = np.argsort(col, kind="stable")
        ranks = np.empty(len(col))
        ranks[order] = np.arange(len(col))
        _, inverse, counts = np.unique(col, return_inverse=True, return_counts=True)
        sums = np.bincount(inverse, weights=ranks)
        out[:, j] = (sums / counts)[inverse]
    return out


def score_agreement(reference: np.ndarray, candidate: np.ndarray) -> dict:
    """Agreement of two (n, L) logits of the same pairs: Spearman correlation (mean over
    labels), the largest absolute difference, and that difference over the standard
    deviation of the reference."""
    ra, rb = _ranks(reference), _ranks(candidate)
    ra -= ra.mean(axis=0)
    rb -= rb.mean(axis=0)
    denom = np.sqrt((ra * ra).sum(axis=0) * (rb * rb).sum(axis=0))
    spearman = float(np.mean((ra * rb).sum(axis=0) / np.maximum(denom, 1e-300)))
    diff = float(np.abs(reference.astype(np.float64) - candidate).max())
    spread = float(reference.std(axis=0).mean())
    return {"spearman": round(spearman, 6), "max_abs_diff": round(diff, 6),
            "max_rel_diff": round(diff / max(spread, 1e-12), 6)}


def format_figures(fig: dict) -> str:
    return (f"int8 vs float32 on {fig.get('pairs', '?')} calibration pairs: Spearman "
            f"{fig['spearman']:.4f}, max |logit difference| {fig['max_abs_diff']:.4f} "
            f"({fig['max_rel_diff']:.3f} of the logits' standard deviation)")


# Recorded with each variant; one built by another recipe (an older fastsbert) is rebuilt
# on next use where the directory is writable.
INT8_RECIPE = ("SmoothQuant (alpha 0.5) on the inputs of the non-down-projection products, "
               "attention cores fused into ONNX Attention, then static QDQ of the encoder's "
               "MatMul weights (int8 per channel, uint8 activations, MinMax on the calibration "
               "pairs), bias adds folded into MatMulIntegerToFloat; pooler and classification "
               "head in float32")


def add_int8(model_dir: str | os.PathLike, *, force: bool = False,
             min_spearman: float = MIN_SPEARMAN, max_rel_diff: float = MAX_REL_DIFF,
             rebuild: bool = False) -> dict:
    """Builds the int8 variant of an exported cross-encoder, runs the guard and lists the
    variant with its figures in fastsbert.json (``variants.int8``). A refusal is recorded
    (without the file) and raised as GuardError naming the figures, unless ``force``."""
    model_dir = Path(model_dir)
    if read_config(model_dir).get("kind") != KIND:
        raise ValueError(f"{model_dir} is not an exported cross-encoder")
    if not os.access(model_dir, os.W_OK):
        raise PermissionError(f"cannot add the int8 variant to {model_dir}: the directory is "
                              "not writable (export the model to a writable directory)")
    return add_guarded(model_dir, dtypes.INT8, _guard(min_spearman, max_rel_diff),
                       force=force, rebuild=rebuild)


def _guard(min_spearman: float, max_rel_diff: float) -> VariantGuard:
    """Logits of the calibration pairs, float32 against the candidate."""

    def judge(model_dir: Path, scratch: Path) -> dict:
        pairs = calibration_pairs()
        fig = score_agreement(_logits(model_dir, dtypes.FLOAT32, pairs),
                              _logits(scratch, dtypes.INT8, pairs))
        return {**fig, "pairs": len(pairs), "min_spearman": min_spearman,
                "max_rel_diff_allowed": max_rel_diff,
                "passed": fig["spearman"] >= min_spearman and fig["max_rel_diff"] <= max_rel_diff}

    return VariantGuard(
        recipe=INT8_RECIPE,
        build=lambda model_dir, out: quantize_cross_encoder(model_dir, out, calibration_pairs()),
        judge=judge,
        describe=format_figures,
        thresholds=f"Spearman >= {min_spearman} and a difference of at most {max_rel_diff} "
                   "standard deviations",
    )


def ensure_int8(model_dir: Path, *, required: bool) -> None:
    """Builds the int8 variant when it is missing or stale (:func:`quantize.ensure_guarded`)."""
    ensure_guarded(model_dir, dtypes.INT8, INT8_RECIPE, lambda: add_int8(model_dir),
                   required=required)
