"""Encoder: text in, embeddings out, through the native core."""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import _core, precision
from ._runtime import onnxruntime_library
from .models import resolve_model


_WARNED: set[str] = set()  # fallback reasons already reported


def _check_texts(texts: object) -> tuple[list[str], bool]:
    """Returns (texts as a list, whether a single str was given); raises on bad input."""
    if isinstance(texts, str):
        return [texts], True
    if texts is None:
        raise TypeError("texts must be a str or a list of str, got None")
    if isinstance(texts, (bytes, bytearray)):
        raise TypeError("texts must be a str or a list of str, got bytes (decode it first)")
    if not isinstance(texts, Sequence):
        if isinstance(texts, np.ndarray):
            texts = texts.tolist()
        else:
            try:
                texts = list(texts)  # other iterables (generators, pandas Series, ...)
            except TypeError:
                raise TypeError(
                    f"texts must be a str or a list of str, got {type(texts).__name__}"
                ) from None
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] is {type(t).__name__}, expected str")
    return list(texts), False


def _first_unencodable(texts: list[str]) -> int | None:
    for i, t in enumerate(texts):
        try:
            t.encode("utf-8")
        except UnicodeEncodeError:
            return i
    return None


class Encoder:
    """A loaded embedding model.

    Args:
        model: an exported directory, a sentence-transformers / Hugging Face model
            directory (exported once and cached), or None for all-MiniLM-L6-v2.
        device: "cpu", "cuda" or "cuda:N" (CUDA needs onnxruntime-gpu).
        threads: inference threads; None uses every core.
        dtype: model precision: "float32" ("fp32"), "int8" (CPU), "float16" ("fp16", CUDA)
            or "auto" (int8 on a CPU with VNNI/AMX, float16 on CUDA, float32 otherwise;
            never a variant that failed its accuracy guard). A variant the directory
            lacks is built once (needs the export extra) and kept in the directory.
            ``Encoder.dtype`` is the precision that runs.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        device: str = "cpu",
        threads: int | None = None,
        dtype: str = precision.FLOAT32,
    ) -> None:
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ValueError(f"threads must be a positive int or None, got {threads!r}")
        dtype = precision.canonical_dtype(dtype)
        if isinstance(device, str):
            precision.check_device(dtype, device)
        self.model_dir: Path = resolve_model(model)
        variant = precision.wanted_variant(dtype, device) if isinstance(device, str) else None
        if variant is not None:
            from .quantize import ensure_variant

            ensure_variant(self.model_dir, variant, required=dtype != precision.AUTO)
        self._core = _core.Encoder(
            str(self.model_dir), device=device, threads=threads or 0,
            ort_library=onnxruntime_library(), dtype=dtype,
        )
        self.device = device
        self._tokenizer = self._load_tokenizer()

    def _load_tokenizer(self):
        """HF ``tokenizers`` for a tokenizer.json the native tokenizer cannot run, else None."""
        path = self.model_dir / "tokenizer.json"
        if not path.is_file():
            raise FileNotFoundError(f"model directory {self.model_dir} has no tokenizer.json")
        if self._core.has_tokenizer:
            return None
        reason = self._core.tokenizer_unavailable_reason
        if reason not in _WARNED:
            _WARNED.add(reason)
            warnings.warn(
                f"fastsbert: {reason}; tokenizing with the `tokenizers` package instead",
                stacklevel=3,
            )
        try:
            from tokenizers import Tokenizer
        except ImportError as e:
            raise ImportError(f"{reason}, and the `tokenizers` package is not installed") from e
        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as e:
            raise ValueError(f"corrupt {path}: {e}") from e
        # The engine pads each batch itself; truncation is sentence-transformers' rule.
        tok.no_padding()
        tok.enable_truncation(self.max_seq_length)
        return tok

    @functools.lru_cache(maxsize=1)  # noqa: B019 (one per Encoder, lives as long as it)
    def _native_tokenizer(self):
        from .tokenizer import Tokenizer

        return Tokenizer.from_file(self.model_dir / "tokenizer.json")

    @property
    def native_tokenizer(self) -> bool:
        """Whether text is tokenized by the native tokenizer (else by HF ``tokenizers``)."""
        return self._tokenizer is None

    @property
    def dtype(self) -> str:
        """The precision that runs: "float32", "int8" or "float16" (never "auto")."""
        return self._core.dtype

    @property
    def dim(self) -> int:
        """Length of each embedding."""
        return self._core.dim

    @property
    def max_seq_length(self) -> int:
        """Longest input in tokens (special tokens included); longer texts are truncated."""
        return self._core.max_seq_length

    @property
    def normalized(self) -> bool:
        """Whether the model's graph already L2-normalises its output."""
        return self._core.normalize

    def tokenize(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids of ``texts`` in CSR form: (ids int64 (total,), offsets int64 (n + 1,)),
        special tokens added and truncated to max_seq_length."""
        items, _ = _check_texts(texts)
        if self._tokenizer is None:
            return self._native_tokenizer().encode_batch_csr(items, max_length=self.max_seq_length)
        try:
            encodings = self._tokenizer.encode_batch(items, add_special_tokens=True)
        except Exception as e:
            bad = _first_unencodable(items)
            if bad is not None:
                raise ValueError(
                    f"texts[{bad}] cannot be encoded as UTF-8 (it holds a lone surrogate)"
                ) from None
            raise ValueError(f"tokenization failed: {e}") from e
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(items))
        offsets = np.zeros(len(items) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ids = np.empty(int(offsets[-1]), dtype=np.int64)
        for e, start, stop in zip(encodings, offsets[:-1], offsets[1:]):
            ids[start:stop] = e.ids
        return ids, offsets

    def encode(
        self,
        texts: str | Sequence[str],
        batch_size: int = 32,
        normalize: bool | None = None,
        show_progress_bar: bool = False,
    ) -> np.ndarray:
        """Embeds ``texts``.

        Returns float32 (n, dim) for a list of n texts, or (dim,) for one str.
        ``normalize``: None keeps the model's own behaviour; True L2-normalises the
        output; False adds no normalisation (a model with a Normalize module still
        normalises, as in sentence-transformers).
        """
        items, single = _check_texts(texts)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        progress = None
        bar = None
        if show_progress_bar and items:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(items), desc="Encoding", unit="text")

            def progress(done: int) -> None:
                bar.update(done - bar.n)

        try:
            if self._tokenizer is None:  # native: tokenize + embed in one GIL-free call
                out = self._core.encode_texts(items, batch_size=batch_size, progress=progress)
            else:
                ids, offsets = self.tokenize(items)
                out = self._core.encode_ids(
                    ids, offsets, batch_size=batch_size, progress=progress
                )
        finally:
            if bar is not None:
                bar.close()
        if normalize and not self.normalized:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            np.maximum(norms, 1e-12, out=norms)
            out /= norms
        return out[0] if single else out

    def __repr__(self) -> str:
        return (
            f"Encoder(model_dir={str(self.model_dir)!r}, dim={self.dim}, "
            f"max_seq_length={self.max_seq_length}, device={self.device!r}, dtype={self.dtype!r})"
        )


_ENCODERS: dict[tuple[str | None, str, str], Encoder] = {}


def encode(
    texts: str | Sequence[str],
    model: str | os.PathLike | None = None,
    batch_size: int = 32,
    normalize: bool | None = None,
    device: str = "cpu",
    show_progress_bar: bool = False,
    dtype: str = precision.FLOAT32,
) -> np.ndarray:
    """Embeds ``texts`` with ``model`` (see :class:`Encoder`); one loaded model is kept per
    (model, device, dtype) for later calls. Returns float32 (n, dim), or (dim,) for a
    single str."""
    key = (None if model is None else os.fspath(model), device, precision.canonical_dtype(dtype))
    enc = _ENCODERS.get(key)
    if enc is None:
        enc = Encoder(model, device=device, dtype=key[2])
        _ENCODERS[key] = enc
    return enc.encode(
        texts, batch_size=batch_size, normalize=normalize, show_progress_bar=show_progress_bar
    )
