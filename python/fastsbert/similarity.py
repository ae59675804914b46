"""Exact top-k similarity search over embeddings.

All functions take C-contiguous ``float32`` NumPy arrays of shape ``(n, dim)`` (a 1-D
array is read as one row) and never copy or cast them: ``float64`` input raises
``TypeError`` and a non-contiguous view raises ``ValueError``, so a hidden copy of a large
corpus cannot happen by accident. NaN or infinite values raise ``ValueError``. Anything
exposing the array interface without a copy (a CPU ``torch.Tensor`` of float32, for
instance) is accepted through :func:`numpy.asarray`.

Scores are cosine similarities by default (rows are L2-normalised inside the kernel; an
all-zero row scores 0) or inner products with ``metric="dot"``. Results are exact: each
row is sorted by descending score, ties broken by the lower index. The native kernel runs
the fastest SIMD level of this CPU (see :func:`simd_level`: the widest, unless a narrower
one measures faster); the environment variable ``FASTSBERT_SIMD=scalar|avx2|avx512`` forces
one, and every level returns bit-identical results.
"""

from __future__ import annotations

import contextlib
import gc
import math
from typing import Literal

import numpy as np

from . import _core
from ._checks import check_int, check_threads

Metric = Literal["cosine", "dot", "hamming"]

__all__ = [
    "topk",
    "semantic_search",
    "paraphrase_mining_embeddings",
    "community_detection",
    "simd_level",
    "simd_levels",
    "simd_rates",
    "cuda_available",
]


def _as_matrix(x: object, name: str) -> np.ndarray:
    """Views ``x`` as a 2-D array without copying; dtype/contiguity are checked natively."""
    a = np.asarray(x)
    if a.ndim == 1:
        a = a.reshape(1, -1)
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (n, dim), got shape {a.shape}")
    return a


def _check_metric(metric: object, hamming: bool = False) -> str:
    allowed = ("cosine", "dot", "hamming") if hamming else ("cosine", "dot")
    if metric not in allowed:
        raise ValueError(f"metric must be one of {', '.join(map(repr, allowed))}, got {metric!r}")
    return metric


def _as_packed(x: object, name: str) -> np.ndarray:
    """A (n, bytes) uint8 view of packed binary vectors (the "ubinary" layout)."""
    a = _as_matrix(x, name)
    if a.dtype != np.uint8:
        hint = " (binary int8 vectors: add 128 and view as uint8, or use precision='ubinary')" \
            if a.dtype == np.int8 else ""
        raise TypeError(f"{name}: metric='hamming' takes packed uint8 vectors, got {a.dtype}{hint}")
    return a


def _rescore(query: np.ndarray, corpus: np.ndarray, candidates: np.ndarray, k: int,
              threads: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine scores of each query's candidate rows; the best ``k``, best first."""
    q = np.ascontiguousarray(_as_matrix(query, "rescore query"), dtype=np.float32)
    corpus = np.asarray(corpus)
    candidates = np.ascontiguousarray(candidates, dtype=np.int64)
    if corpus.dtype == np.float32 and corpus.flags.c_contiguous:
        # Native: reads only the candidate rows (the corpus may be a memory map).
        return _core.rescore(q, corpus, candidates, k, threads)
    # Another dtype or layout: the candidate rows alone, converted once. np.unique sorts,
    # so local row order is corpus order and ties still go to the lower index.
    rows, local = np.unique(candidates, return_inverse=True)
    sub = np.ascontiguousarray(_as_matrix(corpus, "rescore corpus")[rows], dtype=np.float32)
    scores, picked = _core.rescore(q, sub, local.reshape(candidates.shape).astype(np.int64), k,
                                   threads)
    return scores, rows[picked]


def _check_count(value: object, name: str, limit: int) -> int:
    """A non-negative count; values past ``limit`` (the most that can be returned) are
    clamped to it, so any Python int is accepted without overflowing the native side."""
    return min(check_int(value, name, minimum=0, maximum=math.inf), limit)


def topk(
    queries: np.ndarray,
    corpus: np.ndarray | None = None,
    k: int = 10,
    metric: Metric = "cosine",
    device: str = "cpu",
    threads: int | None = None,
    *,
    rescore: tuple[np.ndarray, np.ndarray] | None = None,
    rescore_multiplier: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest corpus rows for every query row.

    Args:
        queries: ``(q, dim)`` float32.
        corpus: ``(n, dim)`` float32, or ``None`` to search ``queries`` against themselves
            without self-matches (each pair is scored once, about twice as fast as passing
            the same array twice).
        k: neighbours per query; ``k > n`` returns all ``n`` columns.
        metric: ``"cosine"`` or ``"dot"``.
        device: ``"cpu"``, or ``"cuda"`` / ``"cuda:N"`` when the CUDA kernel was built
            (see :func:`cuda_available`; agrees with the CPU result within 1e-5 on
            scores of unit-norm rows, indices equal except between scores closer than that).
        threads: worker threads; None uses every CPU this process may use.
        metric="hamming": ``queries`` and ``corpus`` are packed binary vectors, uint8
            ``(rows, dim / 8)`` (``precision="ubinary"``); the result is
            ``(distances int32, indices int64)``, nearest first (CPU only). With
            ``rescore=(query_float, corpus_float)`` the ``k * rescore_multiplier``
            nearest by Hamming distance are re-ranked by exact cosine similarity of the
            float vectors (``corpus_float`` may be a memory map: only candidate rows are
            read) and ``(scores float32, indices)`` of the best ``k`` are returned, as in
            sentence-transformers' binary retrieval with rescoring.

    Returns:
        ``(scores, indices)``: ``(q, k')`` float32 and ``(q, k')`` int64 with
        ``k' = min(k, n)`` (``min(k, q - 1)`` for ``corpus=None``), best first.
    """
    metric = _check_metric(metric, hamming=True)
    if not isinstance(device, str):
        raise TypeError(f"device must be a str such as 'cpu' or 'cuda:0', got {device!r}")
    if metric == "hamming":
        if corpus is None:
            raise ValueError("metric='hamming' needs a corpus")
        if device != "cpu":
            raise ValueError(f"metric='hamming' runs on the CPU only, got device={device!r}")
        q, c = _as_packed(queries, "queries"), _as_packed(corpus, "corpus")
        k = _check_count(k, "k", c.shape[0])
        threads = check_threads(threads)
        if rescore is None:
            return _core.hamming_search(q, c, k, threads)
        multiplier = check_int(rescore_multiplier, "rescore_multiplier")
        _, candidates = _core.hamming_search(q, c, min(k * multiplier, c.shape[0]), threads)
        query_float, corpus_float = rescore
        return _rescore(query_float, corpus_float, candidates, k, threads)
    if rescore is not None:
        raise ValueError("rescore applies to metric='hamming' only")
    q = _as_matrix(queries, "queries")
    c = None if corpus is None else _as_matrix(corpus, "corpus")
    n = q.shape[0] if c is None else c.shape[0]
    k = _check_count(k, "k", n)
    return _core.topk(q, c, k, metric, check_threads(threads), device)


def semantic_search(
    query_embeddings: np.ndarray,
    corpus_embeddings: np.ndarray,
    top_k: int = 10,
    metric: Metric = "cosine",
    threads: int | None = None,
    *,
    rescore: tuple[np.ndarray, np.ndarray] | None = None,
    rescore_multiplier: int = 4,
) -> list[list[dict[str, int | float]]]:
    """Top ``top_k`` corpus entries per query, shaped like sentence-transformers'
    ``util.semantic_search``: one list per query of ``{"corpus_id": int, "score": float}``
    dicts, best first. Use :func:`topk` for the same result as arrays. With
    ``metric="hamming"`` (packed uint8 vectors) the score is the Hamming distance,
    nearest first, unless ``rescore`` re-ranks by float cosine (see :func:`topk`).
    """
    if corpus_embeddings is None:
        raise TypeError("corpus_embeddings must be an array, got None")
    scores, indices = topk(query_embeddings, corpus_embeddings, top_k, metric, threads=threads,
                           rescore=rescore, rescore_multiplier=rescore_multiplier)
    with _gc_paused():
        return [
            [{"corpus_id": j, "score": s} for j, s in zip(row_i, row_s)]
            for row_i, row_s in zip(indices.tolist(), scores.tolist())
        ]


def paraphrase_mining_embeddings(
    embeddings: np.ndarray,
    top_k: int = 100,
    max_pairs: int = 500_000,
    metric: Metric = "cosine",
    threads: int | None = None,
    as_arrays: bool = False,
) -> list[list[float | int]] | tuple[np.ndarray, np.ndarray]:
    """The most similar pairs within one set of embeddings (for texts, see
    :func:`fastsbert.paraphrase_mining`).

    A pair ``{i, j}`` is a candidate when ``j`` is among the ``top_k`` nearest other rows
    of ``i`` or ``i`` among those of ``j`` (the set sentence-transformers'
    ``util.paraphrase_mining_embeddings`` considers); candidates are sorted by descending
    score (ties: lower ``i``, then lower ``j``) and cut to ``max_pairs``. Each pair is
    scored once.

    Returns:
        ``[[score, i, j], ...]`` with ``i < j`` like sentence-transformers, or with
        ``as_arrays=True`` ``(scores (p,) float32, pairs (p, 2) int64)``.
    """
    x = _as_matrix(embeddings, "embeddings")
    n = x.shape[0]
    top_k = _check_count(top_k, "top_k", max(n - 1, 0))
    max_pairs = _check_count(max_pairs, "max_pairs", n * max(n - 1, 0) // 2)
    scores, pairs = _core.topk_pairs(
        x, top_k, max_pairs, _check_metric(metric), check_threads(threads)
    )  # metric="hamming" is for search (topk) only
    if as_arrays:
        return scores, pairs
    with _gc_paused():
        return list(map(list, zip(scores.tolist(), pairs[:, 0].tolist(), pairs[:, 1].tolist())))


def community_detection(
    embeddings: np.ndarray,
    threshold: float = 0.75,
    min_community_size: int = 10,
    threads: int | None = None,
) -> list[list[int]]:
    """Groups of rows whose cosine similarity to a central row is at least ``threshold``,
    as sentence-transformers' ``util.community_detection``: communities of at least
    ``min_community_size`` members, largest first, each starting with its centre, no row
    in two communities. Every pair is scored once; memory grows with the number of pairs
    above ``threshold``.
    """
    x = _as_matrix(embeddings, "embeddings")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)):
        raise TypeError(f"threshold must be a number, got {threshold!r}")
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold!r}")
    # More members than rows can never be met: n + 1 says so without overflowing.
    min_size = _check_count(min_community_size, "min_community_size", x.shape[0] + 1)
    offsets, members = _core.topk_communities(
        x, float(threshold), min_size, check_threads(threads)
    )
    flat = members.tolist()
    bounds = offsets.tolist()
    with _gc_paused():
        return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


@contextlib.contextmanager
def _gc_paused():
    """Pauses Python's cyclic garbage collector while results are turned into many small
    lists or dicts: every few hundred allocations would otherwise start a collection that
    walks all the containers built so far, which made 500,000 mined pairs take 0.45 s to
    convert instead of 0.05 s. Containers of numbers hold no cycles, so nothing is missed,
    and the collector runs as before once the result is built."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def simd_level() -> str:
    """The SIMD level the top-k kernel runs with now: ``"scalar"``, ``"avx2"`` or
    ``"avx512"``. ``FASTSBERT_SIMD`` when set; else the widest level this CPU runs, unless
    a narrower one measured at least 8% faster on the first call (see :func:`simd_rates`).
    """
    return _core.topk_simd_level()


def simd_rates() -> dict[str, float]:
    """GFLOP/s of each SIMD level's top-k kernel on one thread, measured once per process:
    the figures :func:`simd_level` chose by. Empty when this CPU runs at most one SIMD
    level, so there was nothing to choose."""
    return dict(_core.topk_simd_rates())


def simd_levels() -> list[str]:
    """SIMD levels this build carries and this machine can run, scalar first."""
    return list(_core.topk_simd_levels())


def cuda_available() -> bool:
    """Whether ``topk(..., device="cuda")`` can run here."""
    return bool(_core.topk_cuda_available())
