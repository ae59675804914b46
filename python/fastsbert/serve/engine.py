"""The engine adapter: text to token ids (with lengths for usage and truncation checks),
token ids to embeddings, and the post-processing a request asks for.

Everything model-specific the HTTP layer needs goes through :class:`Engine`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..encoder import Encoder
from ..model_cache import DEFAULT_MODEL_NAME, is_hub_id

# Encoder.encode's default rows per model call, which the engine also caps by tokens.
_MAX_ROWS_PER_CALL = 32


@dataclasses.dataclass
class Tokens:
    """Token ids of n texts, cut to the model's limit, in CSR form.

    ids: int64 (total,); offsets: int64 (n + 1,); too_long: bool (n,), True where the
    text had more tokens than the model's limit (its ids are already cut to the limit).
    """

    ids: np.ndarray
    offsets: np.ndarray
    too_long: np.ndarray
    # Token type ids aligned with ids (text pairs for a cross-encoder); None: all 0.
    type_ids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def total(self) -> int:
        return int(self.offsets[-1])

    def rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, offsets) of texts [start, stop), offsets rebased to 0."""
        lo, hi = self.offsets[start], self.offsets[stop]
        return self.ids[lo:hi], self.offsets[start:stop + 1] - lo

    def type_rows(self, start: int, stop: int) -> np.ndarray | None:
        """The type ids of texts [start, stop) (None when there are none)."""
        if self.type_ids is None:
            return None
        return self.type_ids[self.offsets[start]:self.offsets[stop]]


class Engine:
    """One loaded model, as the server uses it.

    Args:
        model: what fastsbert.Encoder accepts (None for all-MiniLM-L6-v2).
        encoder_options: keyword arguments for fastsbert.Encoder (device, threads, ...).
        name: the model name reported to clients (default: the model directory's name).
    """

    def __init__(self, model: str | None, encoder_options: dict[str, Any] | None = None,
                 name: str | None = None) -> None:
        opts = {k: v for k, v in (encoder_options or {}).items() if v is not None}
        self.encoder = Encoder(model, **opts)
        if name is None:
            # A Hub id is reported whole ("org/name"), a directory by its own name.
            name = (DEFAULT_MODEL_NAME if model is None
                    else model if is_hub_id(model) else Path(model).name)
        self.name = name
        self.dim = self.encoder.dim
        self.max_seq_length = self.encoder.max_seq_length
        self.normalized = self.encoder.normalized
        self._workers = _engine_workers(opts.get("threads"), opts.get("device", "cpu"))

    def prompt(self, prompt_name: str | None) -> str:
        """The text put before every input: the model's prompt ``prompt_name``, else its
        default prompt (none for most models). ValueError for an unknown name, and for any
        prompt on a model whose pooling leaves the prompt out: the batcher merges requests
        into one model call, which takes one prompt length for all its rows."""
        prompt = self.encoder.resolve_prompt(None, prompt_name)
        if prompt and self.encoder.excludes_prompt:
            raise ValueError("this model's pooling leaves the prompt's tokens out "
                             "(include_prompt=false), which the server does not support; "
                             "use fastsbert.Encoder.encode")
        return prompt

    def tokenize(self, texts: list[str], prompt: str = "") -> Tokens:
        """Tokenizes ``prompt + text`` for each text once, to the limit plus one token: a
        text that reaches that length is too long. Only those texts are tokenized again, to
        the limit, since where the special tokens go after a cut is the post-processor's
        business."""
        if prompt:
            texts = [prompt + t for t in texts]
        limit = self.max_seq_length
        ids, offsets = self.encoder.tokenize(texts, max_length=limit + 1)
        lengths = np.diff(offsets)
        too_long = lengths > limit
        long_rows = np.flatnonzero(too_long)
        if long_rows.size:
            cut_ids, cut_offsets = self.encoder.tokenize([texts[i] for i in long_rows])
            pieces, prev = [], 0
            for k, row in enumerate(long_rows):
                pieces.append(ids[offsets[prev]:offsets[row]])
                pieces.append(cut_ids[cut_offsets[k]:cut_offsets[k + 1]])
                prev = row + 1
            pieces.append(ids[offsets[prev]:])
            ids = np.concatenate(pieces)
            lengths[long_rows] = np.diff(cut_offsets)
            offsets = np.zeros_like(offsets)
            np.cumsum(lengths, out=offsets[1:])
        return Tokens(ids, offsets, too_long)

    def embed(self, ids: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """float32 (n, dim) embeddings of CSR token sequences. Releases the GIL throughout."""
        # The ids are already here: tokenizing each text a second time would add latency.
        # On the CPU the engine runs one model call per worker thread, but gives a plan of a
        # single batch to one call on all threads, which parallelises poorly: on 2 cores,
        # 2 to 16 merged sentences ran 1.5-2x faster cut into one batch per worker. A
        # server's merged batch is exactly that size, so cut it so.
        rows = len(offsets) - 1
        batch_size = min(_MAX_ROWS_PER_CALL, max(1, math.ceil(rows / self._workers)))
        return self.encoder.encode_tokens(ids, offsets, batch_size=batch_size)

    def warm_up(self) -> None:
        """The first call sets up ONNX Runtime's allocator; make it before serving."""
        self.embed(*self.tokenize(["warm up"]).rows(0, 1))

    def check_dimensions(self, dimensions: object, field: str = "dimensions") -> int | None:
        """The output length a request asks for, or None for the model's own; raises
        TypeError / ValueError naming ``field`` when the model cannot give it."""
        if dimensions is None:
            return None
        if isinstance(dimensions, bool) or not isinstance(dimensions, int):
            raise TypeError(f"{field} must be an integer, got {type(dimensions).__name__}")
        if not 1 <= dimensions <= self.dim:
            raise ValueError(f"{field} must be between 1 and {self.dim} for this model, "
                             f"got {dimensions}")
        return dimensions


def _engine_workers(threads: int | None, device: str) -> int:
    """Concurrent model calls the engine makes: one per thread on the CPU unless
    FASTSBERT_WORKERS says fewer, one on CUDA (the engine's own rule)."""
    if device != "cpu":
        return 1
    if threads is None:
        threads = os.cpu_count() or 1  # what std::thread::hardware_concurrency reports
    try:
        workers = int(os.environ.get("FASTSBERT_WORKERS", threads))
    except ValueError:
        workers = threads
    return max(1, min(workers, threads or 1))


def finish(embeddings: np.ndarray, *, dimensions: int | None, normalize: bool,
           normalized: bool) -> np.ndarray:
    """What a request gets back: the first ``dimensions`` values of each row (all when
    None), L2-normalised when ``normalize`` is set. ``normalized`` says whether the rows
    are unit length already, which a cut row no longer is."""
    if dimensions is not None and dimensions < embeddings.shape[1]:
        embeddings = np.ascontiguousarray(embeddings[:, :dimensions])
        normalized = False
    if normalize and not normalized:
        norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
        np.maximum(norms, 1e-12, out=norms)
        embeddings = embeddings / norms
    return embeddings
