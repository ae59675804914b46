"""The reranker adapter: (query, text) pairs to token ids with type ids, and token ids
to a cross-encoder's scores, for /rerank and /v1/rerank."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..cross_encoder import CrossEncoder
from ..model_cache import is_hub_id
from .engine import Tokens, _engine_workers, _MAX_ROWS_PER_CALL


class Reranker:
    """One loaded cross-encoder with one label, as the server uses it.

    Args:
        model: what fastsbert.CrossEncoder accepts.
        options: keyword arguments for fastsbert.CrossEncoder (device, threads, dtype, ...).
    """

    def __init__(self, model: str, options: dict[str, Any] | None = None) -> None:
        opts = {k: v for k, v in (options or {}).items() if v is not None}
        self.model = CrossEncoder(model, **opts)
        if self.model.num_labels != 1:
            raise ValueError(f"--reranker needs a cross-encoder with one label; {model} has "
                             f"{self.model.num_labels}")
        self.name = model if is_hub_id(model) else Path(model).name
        self.max_seq_length = self.model.max_length
        # Each row of the model's output: the activated score, then the raw logit.
        self.dim = 2
        self._workers = _engine_workers(opts.get("threads"), opts.get("device", "cpu"))

    def prompt(self, prompt_name: str | None) -> str:
        """The text put before the query: the model's prompt ``prompt_name``, else its
        default prompt (none for most models). ValueError for an unknown name."""
        return self.model.resolve_prompt(None, prompt_name)

    def tokenize(self, query: str, texts: list[str], prompt: str = "") -> Tokens:
        """(prompt + query, text) pairs cut to the model's limit, longest first;
        ``too_long`` marks the pairs that had to be cut (found by tokenizing to the limit
        plus one token)."""
        limit = self.max_seq_length
        core = self.model._core
        queries = [prompt + query] * len(texts)
        ids, types, offsets = core.tokenize_pairs(queries, texts, max_length=limit + 1)
        lengths = np.diff(offsets)
        too_long = lengths > limit
        if too_long.any():
            ids, types, offsets = core.tokenize_pairs(queries, texts, max_length=limit)
        return Tokens(ids, offsets, too_long, types)

    def score(self, ids: np.ndarray, offsets: np.ndarray, type_ids: np.ndarray) -> np.ndarray:
        """float32 (n, 2): per pair the activated score and the raw logit. Releases the
        GIL throughout; the batch is cut into one call per worker (see Engine.embed)."""
        rows = len(offsets) - 1
        batch_size = min(_MAX_ROWS_PER_CALL, max(1, math.ceil(rows / self._workers)))
        return self.model.score_tokens(ids, type_ids, offsets, batch_size=batch_size)

    def warm_up(self) -> None:
        tokens = self.tokenize("warm", ["up"])
        self.score(tokens.ids, tokens.offsets, tokens.type_ids)
