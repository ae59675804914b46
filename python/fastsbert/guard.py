"""The accuracy guard of reduced-precision variants, run on the native engine directly.

It embeds the calibration texts that ship with the package (``data/calibration.txt``) with
float32 and with a candidate variant through ``fastsbert._core.Encoder`` (the same engine
that serves them, without the Python :class:`fastsbert.Encoder` on top) and measures their
agreement: mean and 1st-percentile cosine, and the overlap of each text's nearest neighbours.
See :mod:`fastsbert.quantize` for the variants and the thresholds' use.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import numpy as np

from . import _core, dtypes
from ._runtime import checking_session, onnxruntime_library
from .export_format import read_config
from .similarity import topk

# Guard thresholds (defaults of add_variant): agreement with float32 on the calibration set.
MIN_MEAN_COSINE = 0.99
MIN_P1_COSINE = 0.97
NEIGHBOURS = 10
_BATCH = 32


class GuardError(ValueError):
    """A variant disagrees with float32 beyond the thresholds (the message names the figures)."""


@functools.lru_cache(maxsize=1)
def calibration_texts() -> tuple[str, ...]:
    """The calibration set that ships with the package, one text per line."""
    text = resources.files("fastsbert").joinpath("data/calibration.txt").read_text("utf-8")
    return tuple(line for line in text.split("\n") if line.strip())


def _engine(model_dir: Path, dtype: str = dtypes.FLOAT32, device: str = "cpu",
            threads: int = 0) -> _core.Encoder:
    return _core.Encoder(str(model_dir), device=device, threads=threads,
                         ort_library=onnxruntime_library(), dtype=dtype)


def token_rows(model_dir: Path, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of ``texts`` cut at the model's max_seq_length, in CSR form (ids int64
    (total,), offsets int64 (n + 1,)): by the native tokenizer, or by the ``tokenizers``
    package for a tokenizer.json the native one does not run (its truncation is baked in)."""
    engine = _engine(model_dir, threads=1)
    if engine.has_tokenizer:
        return engine.tokenize(list(texts), max_length=engine.max_seq_length)
    from tokenizers import Tokenizer

    rows = [e.ids for e in Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
            .encode_batch(list(texts), add_special_tokens=True)]
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=offsets[1:])
    ids = np.fromiter((t for r in rows for t in r), dtype=np.int64, count=int(offsets[-1]))
    return ids, offsets


def single_row_feeds(model_dir: Path, texts: list[str]):
    """Yields one graph feed dict per text (batch of one, so no padding), named as the
    graph's inputs in fastsbert.json."""
    inputs = list(read_config(model_dir)["inputs"])
    ids, offsets = token_rows(model_dir, texts)
    for a, b in zip(offsets[:-1], offsets[1:]):
        x = ids[a:b][None, :]
        feeds = {"input_ids": x, "attention_mask": np.ones_like(x),
                 "token_type_ids": np.zeros_like(x), "prompt_length": np.zeros(1, np.int64)}
        yield {name: feeds[name] for name in inputs}


def guard_device(dtype: str) -> str:
    """Where the guard runs a variant: float16 needs CUDA when it is there; otherwise the
    CPU execution provider runs the float16 graph (slowly) for the comparison."""
    if dtype == dtypes.FLOAT16:
        import onnxruntime as ort

        if "CUDAExecutionProvider" in ort.get_available_providers():
            return "cuda"
    return "cpu"


def embed(model_dir: Path, dtype: str, texts: list[str]) -> np.ndarray:
    """float32 (n, dim) embeddings of ``texts`` by the ``dtype`` graph of ``model_dir``."""
    device = guard_device(dtype)
    if dtype == dtypes.FLOAT16 and device == "cpu":
        return _embed_float16_on_cpu(model_dir, texts)
    engine = _engine(model_dir, dtype, device)
    if engine.has_tokenizer:
        return engine.encode_texts(list(texts), batch_size=_BATCH)
    ids, offsets = token_rows(model_dir, texts)
    return engine.encode_ids(ids, offsets, batch_size=_BATCH)


def _embed_float16_on_cpu(model_dir: Path, texts: list[str]) -> np.ndarray:
    """The float16 graph through onnxruntime's Python API on the CPU (the engine refuses
    float16 there), one text per call so no padding is involved."""

    sess = checking_session(model_dir / dtypes.VARIANT_FILES[dtypes.FLOAT16])
    return np.stack([sess.run(None, feeds)[0][0] for feeds in single_row_feeds(model_dir, texts)])


def agreement(reference: np.ndarray, candidate: np.ndarray, k: int = NEIGHBOURS) -> dict:
    """Cosine agreement of two (n, dim) embeddings of the same texts, and the mean overlap
    of each row's k nearest neighbours among the others."""

    def unit(x):
        x = np.asarray(x, dtype=np.float32)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    a, b = unit(reference), unit(candidate)
    cos = np.sum(a * b, axis=1, dtype=np.float64)
    k_eff = min(k, len(a) - 1)
    overlap = 1.0
    if k_eff > 0:
        _, ia = topk(a, a, k=k_eff + 1)
        _, ib = topk(b, b, k=k_eff + 1)
        rows = np.arange(len(a))
        shared = [len((set(ia[i]) - {i}) & (set(ib[i]) - {i})) / k_eff for i in rows]
        overlap = float(np.mean(shared))
    return {
        "mean_cosine": round(float(cos.mean()), 6),
        "p1_cosine": round(float(np.percentile(cos, 1)), 6),
        "min_cosine": round(float(cos.min()), 6),
        "top10_overlap": round(overlap, 4),
    }


def format_figures(dtype: str, fig: dict) -> str:
    return (f"{dtype} vs float32 on {fig.get('texts', '?')} calibration texts: "
            f"mean cosine {fig['mean_cosine']:.4f}, p1 cosine {fig['p1_cosine']:.4f}, "
            f"min {fig['min_cosine']:.4f}, top-{NEIGHBOURS} overlap {fig['top10_overlap']:.3f}")
