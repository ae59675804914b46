"""CrossEncoder: scores of (query, passage) pairs through the native core.

A cross-encoder reads both texts of a pair at once and returns, per pair, the logits of
a sequence-classification head (one label for rerankers, several for NLI-style models).
Its exported directory (see :mod:`fastsbert.cross_encoder_export`; built by
:mod:`fastsbert.cross_encoder_prepare`) holds one graph:
encoder + classification head + the model's activation. Each row of the graph's output
holds the L activated scores followed by the L raw logits, so that a caller can ask for
another activation (or none) without a second graph.

Results equal sentence-transformers' ``CrossEncoder.predict`` and ``rank``: the pair is
tokenized with the tokenizer's pair template and cut to ``max_length`` tokens longest
first; the activation is the saved ``activation_fn``, else sigmoid for one label and
identity otherwise. A prompt (the model's saved ones, the caller's, or the default one) is
put before the first text of each pair, as sentence-transformers does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from . import _core, dtypes
from ._checks import check_int, check_str_items, check_threads
from ._runtime import onnxruntime_library
from .export_format import read_config
from .prompts import merge_prompts, pick_prompt
from .st_config import saved_prompts


def _pairs(pairs: object) -> tuple[list, list, bool]:
    """(first texts, second texts, whether one pair was given) of ``pairs``: one pair
    (two str) or a sequence of pairs (each a 2-item list or tuple of str)."""
    if isinstance(pairs, (str, bytes)) or pairs is None:
        raise TypeError("pairs must be a pair of str or a list of pairs, got "
                        f"{type(pairs).__name__}")
    if isinstance(pairs, np.ndarray):
        pairs = pairs.tolist()
    if not isinstance(pairs, (list, tuple)):
        pairs = list(pairs)
    if len(pairs) == 2 and all(isinstance(p, str) for p in pairs):
        return [pairs[0]], [pairs[1]], True
    first, second = [], []
    for i, pair in enumerate(pairs):
        if isinstance(pair, str) or not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"pairs[{i}] must be a (str, str) pair, got {pair!r:.80}")
        first.append(pair[0])
        second.append(pair[1])
    return first, second, False


def _apply(fn: Callable, logits: np.ndarray) -> np.ndarray:
    """``fn`` (a NumPy function or a torch module/function, as sentence-transformers
    takes) applied to float32 (n, L) logits, as float32."""
    try:
        out = fn(logits)
    except TypeError:
        import torch

        out = fn(torch.from_numpy(logits))
    if hasattr(out, "detach"):
        out = out.detach().float().cpu().numpy()
    return np.asarray(out, dtype=np.float32)


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis of float32 (n, L)."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def _source_prompts(config: dict) -> tuple[dict[str, str], str | None]:
    """The prompts saved with the model an export was made from, where that model is still
    on this machine (exports made before fastsbert.json kept them)."""
    source = config.get("source")
    try:
        if source and Path(source).is_dir():
            return saved_prompts(Path(source))
    except (OSError, ValueError):
        pass
    return {}, None


class CrossEncoder:
    """A loaded cross-encoder (reranker).

    Args:
        model: an exported cross-encoder directory, or a sentence-transformers
            CrossEncoder / Hugging Face sequence-classification directory or Hub id,
            built once into the cache: from its ready ``onnx/model.onnx`` without torch
            when it has one, else exported with torch (the export extra); see
            :mod:`fastsbert.cross_encoder_prepare`.
        dtype: "float32" ("fp32"), "int8" (CPU; built once and admitted by an accuracy
            guard on scores, see :mod:`fastsbert.cross_encoder_quantize`), "float16" is not
            offered, or "auto" (int8 on a CPU with VNNI/AMX when it passed its guard).
        threads: inference threads; None uses every CPU this process may use.
        max_length: longest pair in tokens, special tokens included (default: the
            model's, as sentence-transformers reads it); at most the exported limit.
        device: "cpu", "cuda" or "cuda:N" (CUDA needs onnxruntime-gpu).
        revision, token, cache_folder: for a Hub id, as :class:`fastsbert.Encoder`.
        prompts: prompt name -> text, added to (and overriding) the prompts the model
            saved; a prompt goes before the first text of each pair.
        default_prompt_name: the prompt used when a call names none (default: the
            model's saved default, usually none).
    """

    def __init__(
        self,
        model: str | os.PathLike,
        dtype: str = dtypes.FLOAT32,
        threads: int | None = None,
        max_length: int | None = None,
        device: str = "cpu",
        *,
        revision: str | None = None,
        token: str | bool | None = None,
        cache_folder: str | os.PathLike | None = None,
        prompts: dict[str, str] | None = None,
        default_prompt_name: str | None = None,
    ) -> None:
        if not isinstance(device, str):
            raise TypeError(f"device must be a str such as 'cpu' or 'cuda:0', got {device!r}")
        n_threads = check_threads(threads)
        dtype = dtypes.canonical_dtype(dtype)
        if dtype == dtypes.FLOAT16:
            raise ValueError("dtype='float16' is not offered for cross-encoders: use "
                             "'float32', 'int8' (CPU) or 'auto'")
        dtypes.check_device(dtype, device)
        from .cross_encoder_prepare import resolve_cross_encoder
        from .cross_encoder_quantize import ensure_int8

        self.model_dir: Path = resolve_cross_encoder(
            model, revision=revision, token=token, cache_folder=cache_folder)
        config = read_config(self.model_dir)
        if dtypes.wanted_variant(dtype, device) == dtypes.INT8:
            ensure_int8(self.model_dir, required=dtype != dtypes.AUTO)
        self._core = _core.Encoder(str(self.model_dir), device=device, threads=n_threads,
                                   ort_library=onnxruntime_library(), dtype=dtype)
        if not self._core.has_tokenizer:
            raise ValueError(f"{self.model_dir}: the native tokenizer cannot read its "
                             f"tokenizer.json ({self._core.tokenizer_unavailable_reason})")
        self.device = device
        saved, saved_default = config.get("prompts"), config.get("default_prompt_name")
        if saved is None:  # exported before fastsbert kept the prompts: the source has them
            saved, saved_default = _source_prompts(config)
        self.prompts: dict[str, str]
        self.default_prompt_name: str | None
        self.prompts, self.default_prompt_name = merge_prompts(
            saved, saved_default, prompts, default_prompt_name)
        self.num_labels: int = int(config["num_labels"])
        self.activation: str = str(config.get("activation") or "")
        limit = self._core.max_seq_length
        if max_length is None:
            self.max_length = limit
        else:
            self.max_length = check_int(max_length, "max_length", minimum=2)
            if self.max_length > limit:
                raise ValueError(f"max_length must be at most {limit}, the limit {self.model_dir} "
                                 f"was exported with, got {max_length}")

    @property
    def dtype(self) -> str:
        """The precision that runs: "float32" or "int8" (never "auto")."""
        return self._core.dtype

    def resolve_prompt(self, prompt: str | None = None, prompt_name: str | None = None) -> str:
        """The prompt put before the first text of each pair: ``prompt`` as given (even
        ""), else the one named ``prompt_name``, else the default prompt, else none."""
        return pick_prompt(self.prompts, self.default_prompt_name, prompt, prompt_name)

    def _prompted(self, pairs, prompt: str | None, prompt_name: str | None):
        first, second, single = _pairs(pairs)
        check_str_items(first)
        check_str_items(second)
        text = pick_prompt(self.prompts, self.default_prompt_name, prompt, prompt_name)
        if text:
            first = [text + t for t in first]
        return first, second, single

    def tokenize(self, pairs, *, prompt_name: str | None = None,
                 prompt: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Token ids of the pairs as the model sees them (prompt included), in CSR form:
        (ids int64 (total,), type_ids int64 (total,), offsets int64 (n + 1,)), each cut to
        max_length."""
        first, second, _ = self._prompted(pairs, prompt, prompt_name)
        return self._core.tokenize_pairs(first, second, max_length=self.max_length)

    def score_tokens(self, ids: np.ndarray, type_ids: np.ndarray, offsets: np.ndarray,
                     batch_size: int = 32) -> np.ndarray:
        """float32 (n, 2L) rows of tokenized pairs (see :meth:`tokenize`): the L activated
        scores, then the L logits."""
        return self._core.encode_ids(ids, offsets, batch_size=check_int(batch_size, "batch_size"),
                                     type_ids=type_ids)

    def _rows(self, first: list, second: list, batch_size: int,
              show_progress_bar: bool) -> np.ndarray:
        progress = bar = None
        if show_progress_bar and first:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(first), desc="Scoring", unit="pair")

            def progress(done: int) -> None:
                bar.update(done - bar.n)
        try:
            if self.max_length == self._core.max_seq_length:  # tokenize + run in one call
                return self._core.encode_pairs(first, second, batch_size=batch_size,
                                               progress=progress)
            ids, types, offsets = self._core.tokenize_pairs(first, second,
                                                            max_length=self.max_length)
            return self._core.encode_ids(ids, offsets, batch_size=batch_size, progress=progress,
                                         type_ids=types)
        finally:
            if bar is not None:
                bar.close()

    def predict(
        self,
        pairs,
        batch_size: int = 32,
        activation_fn: Callable | None = None,
        apply_softmax: bool = False,
        show_progress_bar: bool = False,
        *,
        prompt_name: str | None = None,
        prompt: str | None = None,
    ) -> np.ndarray:
        """Scores of ``pairs`` (a list of (str, str), or one pair).

        Returns float32 (n,) for a one-label model and (n, L) otherwise; a float (or (L,))
        for one pair. ``activation_fn`` replaces the model's activation (a NumPy function
        or a torch module such as ``torch.nn.Identity()``); ``apply_softmax`` then applies
        softmax over the labels of a multi-label model. ``prompt`` or ``prompt_name`` picks
        the prompt put before each pair's first text (see :meth:`resolve_prompt`).
        """
        batch_size = check_int(batch_size, "batch_size")
        if activation_fn is not None and not callable(activation_fn):
            raise TypeError(f"activation_fn must be callable, got {activation_fn!r}")
        first, second, single = self._prompted(pairs, prompt, prompt_name)
        labels = self.num_labels
        if not first:
            return np.zeros((0,) if labels == 1 else (0, labels), np.float32)
        rows = self._rows(first, second, batch_size, show_progress_bar)
        if activation_fn is None:
            scores = np.ascontiguousarray(rows[:, :labels])
        else:
            scores = _apply(activation_fn, np.ascontiguousarray(rows[:, labels:]))
        if labels == 1 and scores.ndim > 1:
            scores = scores[:, 0]
        if apply_softmax and scores.ndim > 1:
            scores = softmax(scores)
        return scores[0] if single else scores

    def rank(
        self,
        query: str,
        documents: Sequence[str],
        top_k: int | None = None,
        return_documents: bool = False,
        batch_size: int = 32,
        activation_fn: Callable | None = None,
        show_progress_bar: bool = False,
        *,
        prompt_name: str | None = None,
        prompt: str | None = None,
    ) -> list[dict]:
        """``documents`` ordered by their score against ``query``, best first:
        ``[{"corpus_id": i, "score": s[, "text": documents[i]]}, ...]`` (the first
        ``top_k`` when given), as sentence-transformers' ``CrossEncoder.rank``; the prompt
        goes before ``query``. Needs a one-label model."""
        if self.num_labels != 1:
            raise ValueError(f"rank() needs a model with one label; this one has "
                             f"{self.num_labels} (use predict() on the pairs)")
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        if isinstance(documents, str):
            raise TypeError("documents must be a list of str, got a single str")
        documents = list(documents)
        if top_k is not None:
            top_k = check_int(top_k, "top_k", minimum=0)
        scores = self.predict([(query, d) for d in documents], batch_size=batch_size,
                              activation_fn=activation_fn, show_progress_bar=show_progress_bar,
                              prompt_name=prompt_name, prompt=prompt)
        # Stable, like Python's sorted: equal scores keep document order.
        order = np.argsort(-scores, kind="stable")
        if top_k is not None:
            order = order[:top_k]
        results = []
        for i in order.tolist():
            hit = {"corpus_id": i, "score": float(scores[i])}
            if return_documents:
                hit["text"] = documents[i]
            results.append(hit)
        return results

    def __repr__(self) -> str:
        return (f"CrossEncoder(model_dir={str(self.model_dir)!r}, num_labels={self.num_labels}, "
                f"max_length={self.max_length}, device={self.device!r}, dtype={self.dtype!r})")
