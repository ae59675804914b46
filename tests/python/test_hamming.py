"""Hamming top-k over packed binary vectors, against NumPy brute force; every SIMD level."""

from __future__ import annotations

import numpy as np
import pytest

import fastsbert
from fastsbert import similarity as sim

POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.int32)


def brute_force(q: np.ndarray, c: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    d = POPCOUNT[q[:, None, :] ^ c[None, :, :]].sum(axis=2)
    order = np.lexsort((np.broadcast_to(np.arange(c.shape[0]), d.shape), d), axis=1)[:, :k]
    return np.take_along_axis(d, order, 1).astype(np.int32), order.astype(np.int64)


def packed(rng, rows: int, nbytes: int) -> np.ndarray:
    return rng.integers(0, 256, size=(rows, nbytes), dtype=np.uint8)


@pytest.mark.parametrize("nbytes", [0, 1, 7, 8, 48, 64, 65, 130])
@pytest.mark.parametrize("q, n, k", [(1, 300, 10), (40, 1000, 5), (3, 17, 40)])
def test_matches_brute_force(nbytes, q, n, k):
    rng = np.random.default_rng(nbytes * 1000 + n)
    queries, corpus = packed(rng, q, nbytes), packed(rng, n, nbytes)
    got = sim.topk(queries, corpus, k, metric="hamming")
    want = brute_force(queries, corpus, k)
    assert got[0].dtype == np.int32 and got[1].dtype == np.int64
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_ties_go_to_the_lower_index():
    corpus = np.zeros((5000, 6), np.uint8)  # every distance to a zero query is 0
    corpus[4000:] = 255
    d, i = sim.topk(np.zeros((3, 6), np.uint8), corpus, 7, metric="hamming", threads=2)
    np.testing.assert_array_equal(i, np.tile(np.arange(7), (3, 1)))
    assert (d == 0).all()


@pytest.mark.parametrize("nbytes, n, k", [(48, 4099, 25), (2, 3001, 600)])
@pytest.mark.parametrize("level", ["avx2", "avx512"])
def test_levels_identical_to_scalar(monkeypatch, level, nbytes, n, k):
    if level not in sim.simd_levels():
        pytest.skip(f"{level} not supported here")
    rng = np.random.default_rng(7)
    queries, corpus = packed(rng, 37, nbytes), packed(rng, n, nbytes)
    monkeypatch.setenv("FASTSBERT_SIMD", "scalar")
    want = sim.topk(queries, corpus, k, metric="hamming")
    monkeypatch.setenv("FASTSBERT_SIMD", level)
    got = sim.topk(queries, corpus, k, metric="hamming")
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("threads", [1, 2])
def test_nearer_rows_after_a_full_buffer(threads):
    # 1,000 rows at distance 5, then 1,000 at 4, then farther ones: the selection fills up
    # with the first, must drop them all for the second, and keep exactly the first 700 of
    # those, since nothing nearer follows.
    corpus = np.concatenate([np.full(1000, 0b11111), np.full(1000, 0b1111),
                             np.full(3000, 0b111111)]).astype(np.uint8)[:, None]
    d, i = sim.topk(np.zeros((2, 1), np.uint8), corpus, 700, metric="hamming", threads=threads)
    np.testing.assert_array_equal(i, np.tile(np.arange(1000, 1700), (2, 1)))
    assert (d == 4).all()


# Few distinct distances (1 or 2 bytes: 0..16) make every selection step a tie at its
# bound, and k in the hundreds makes the selection compact its buffer many times; 70,000
# rows span several corpus super blocks, split between threads.
@pytest.mark.parametrize("nbytes, n, k", [(1, 70_000, 300), (2, 9_000, 1_500), (6, 70_000, 2)])
@pytest.mark.parametrize("threads", [1, 2])
def test_ties_and_large_k_across_blocks(nbytes, n, k, threads):
    rng = np.random.default_rng(n + k)
    queries, corpus = packed(rng, 3, nbytes), packed(rng, n, nbytes)
    got = sim.topk(queries, corpus, k, metric="hamming", threads=threads)
    want = brute_force(queries, corpus, k)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_thread_counts_agree():
    rng = np.random.default_rng(3)
    queries, corpus = packed(rng, 5, 48), packed(rng, 50_000, 48)
    a = sim.topk(queries, corpus, 10, metric="hamming", threads=1)
    b = sim.topk(queries, corpus, 10, metric="hamming", threads=2)
    np.testing.assert_array_equal(a[1], b[1])


def test_rescoring_with_float_vectors(stsb_test_sentences):
    emb = fastsbert.encode(stsb_test_sentences[:1200])
    queries, corpus = emb[:20], emb[20:]
    bq, bc = np.packbits(queries > 0, axis=-1), np.packbits(corpus > 0, axis=-1)
    scores, idx = sim.topk(bq, bc, 5, metric="hamming", rescore=(queries, corpus),
                           rescore_multiplier=4)
    _, candidates = brute_force(bq, bc, 20)
    cos = np.einsum("qd,qmd->qm", queries, corpus[candidates])  # unit vectors
    order = np.lexsort((candidates, -cos), axis=1)[:, :5]
    np.testing.assert_array_equal(idx, np.take_along_axis(candidates, order, 1))
    np.testing.assert_allclose(scores, np.take_along_axis(cos, order, 1), atol=1e-6)
    hits = sim.semantic_search(bq, bc, top_k=5, metric="hamming", rescore=(queries, corpus))
    assert [[h["corpus_id"] for h in row] for row in hits] == idx.tolist()


def test_rescoring_reads_any_float_corpus(tmp_path):
    """A float16 memory map, a strided view and zero rows rescore like NumPy's cosine;
    candidates outside the corpus are refused by name."""
    from fastsbert import _core

    rng = np.random.default_rng(5)
    queries = rng.standard_normal((7, 40)).astype(np.float32)
    corpus = rng.standard_normal((300, 40)).astype(np.float32)
    corpus[[3, 17]] = 0.0
    candidates = np.stack([rng.choice(300, 30, replace=False) for _ in range(7)])
    candidates[:, 0] = 3  # a zero vector scores 0

    def numpy_rescore(corpus64):
        rows = corpus64[candidates]
        dots = np.einsum("qd,qmd->qm", queries.astype(np.float64), rows)
        norms = np.linalg.norm(queries, axis=1)[:, None] * np.linalg.norm(rows, axis=2)
        cos = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
        order = np.lexsort((candidates, -cos), axis=1)[:, :6]
        return np.take_along_axis(cos, order, 1), np.take_along_axis(candidates, order, 1)

    half = np.lib.format.open_memmap(tmp_path / "c.npy", mode="w+", dtype=np.float16,
                                     shape=corpus.shape)
    half[:] = corpus
    wide = np.zeros((300, 80), np.float32)
    wide[:, ::2] = corpus
    for stored in (corpus, half, wide[:, ::2]):
        want_scores, want_idx = numpy_rescore(np.asarray(stored, np.float64))
        scores, idx = sim._rescore(queries, stored, candidates, 6, 1)
        np.testing.assert_array_equal(idx, want_idx)
        np.testing.assert_allclose(scores, want_scores, atol=1e-5)
    bad = candidates.copy()
    bad[2, 4] = 300
    with pytest.raises(ValueError, match="candidate 300 is not a corpus row"):
        _core.rescore(queries, corpus, bad, 6)
    with pytest.raises(ValueError, match="dimension mismatch"):
        _core.rescore(queries[:, :39].copy(), corpus, candidates, 6)


def test_bad_inputs():
    u = np.zeros((2, 6), np.uint8)
    with pytest.raises(TypeError, match="packed uint8"):
        sim.topk(u.astype(np.int8), u, 1, metric="hamming")
    with pytest.raises(TypeError, match="packed uint8"):
        sim.topk(u.astype(np.float32), u, 1, metric="hamming")
    with pytest.raises(ValueError, match="dimension mismatch"):
        sim.topk(u, np.zeros((2, 5), np.uint8), 1, metric="hamming")
    with pytest.raises(ValueError, match="needs a corpus"):
        sim.topk(u, None, 1, metric="hamming")
    with pytest.raises(ValueError, match="metric must be one of"):
        sim.topk(u, u, 1, metric="jaccard")
    with pytest.raises(ValueError, match="hamming' only"):
        sim.topk(u.astype(np.float32), u.astype(np.float32), 1, rescore=(u, u))
    with pytest.raises(ValueError, match="C-contiguous"):
        sim.topk(np.zeros((2, 12), np.uint8)[:, ::2], u, 1, metric="hamming")
