"""Exact top-k similarity: parity with NumPy brute force, SIMD levels against scalar,
sentence-transformers' result shapes, and input checking."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from fastsbert import similarity as sim

TOL = 1e-5  # float32 kernel vs float64 NumPy reference, on unit-norm rows
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


# ---------------------------------------------------------------- helpers
def unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, n, out=np.zeros_like(x), where=n > 0)


def reference_scores(q: np.ndarray, c: np.ndarray, metric: str) -> np.ndarray:
    """Brute-force score matrix in float64."""
    if metric == "cosine":
        return unit(q) @ unit(c).T
    return q.astype(np.float64) @ c.astype(np.float64).T


def assert_topk(ref: np.ndarray, scores: np.ndarray, idx: np.ndarray, k: int, tol: float):
    """Each row of (scores, idx) must be an exact top-k of `ref` up to `tol`: the right
    scores, sorted, ties to the lower index, and nothing better left out."""
    q, n = ref.shape
    kk = min(k, n)
    assert scores.shape == idx.shape == (q, kk)
    assert scores.dtype == np.float32 and idx.dtype == np.int64
    if q == 0 or kk == 0:
        return
    assert ((idx >= 0) & (idx < n)).all()
    assert all(len(set(r)) == kk for r in idx.tolist()), "duplicate index in a row"
    got_ref = np.take_along_axis(ref, idx, axis=1)
    np.testing.assert_allclose(scores, got_ref, atol=tol, rtol=0)
    best = -np.sort(-ref, axis=1)[:, :kk]
    np.testing.assert_allclose(scores, best, atol=tol, rtol=0)
    # Sorted by score, ties by index, on the kernel's own scores.
    s, i = scores[:, :-1], scores[:, 1:]
    ordered = (s > i) | ((s == i) & (idx[:, :-1] < idx[:, 1:]))
    assert ordered.all()


def with_duplicates(x: np.ndarray, every: int = 5) -> np.ndarray:
    x = x.copy()
    x[every::every] = x[every - 1 : -1 : every][: len(x[every::every])]
    return x


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="module")
def real_embeddings() -> np.ndarray:
    """MiniLM embeddings of STSb sentences (which repeat), when model and data are here."""
    path = DATA / "stsb" / "stsb-en-test.csv"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    try:
        import fastsbert

        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))[:200]
        return fastsbert.encode([s for row in rows for s in row[:2]])
    except (ImportError, FileNotFoundError) as e:
        pytest.skip(f"no model to embed with: {e}")


# ---------------------------------------------------------------- parity with NumPy
@pytest.mark.parametrize("metric", ["cosine", "dot"])
@pytest.mark.parametrize("k", [1, 7, 100, 1000, 1500])
def test_search_matches_numpy(rng, metric, k):
    q = rng.standard_normal((67, 384)).astype(np.float32)
    c = with_duplicates(rng.standard_normal((1000, 384)).astype(np.float32))
    scores, idx = sim.topk(q, c, k, metric=metric)
    tol = TOL if metric == "cosine" else TOL * 384
    assert_topk(reference_scores(q, c, metric), scores, idx, k, tol)


@pytest.mark.parametrize("metric", ["cosine", "dot"])
@pytest.mark.parametrize("k", [1, 10, 299, 300, 400])
def test_self_matches_numpy(rng, metric, k):
    x = with_duplicates(rng.standard_normal((300, 48)).astype(np.float32), 7)
    scores, idx = sim.topk(x, None, k, metric=metric)
    ref = reference_scores(x, x, metric)
    np.fill_diagonal(ref, -np.inf)
    assert scores.shape == (300, min(k, 299))
    assert (idx != np.arange(300)[:, None]).all(), "self pair returned"
    tol = TOL if metric == "cosine" else TOL * 48
    assert_topk(ref, scores, idx, min(k, 299), tol)


def test_real_embeddings(real_embeddings):
    x = np.ascontiguousarray(real_embeddings, dtype=np.float32)
    scores, idx = sim.topk(x[:50], x, 10)
    assert_topk(reference_scores(x[:50], x, "cosine"), scores, idx, 10, TOL)
    s2, i2 = sim.topk(x, None, 5)
    ref = reference_scores(x, x, "cosine")
    np.fill_diagonal(ref, -np.inf)
    assert_topk(ref, s2, i2, 5, TOL)


def test_exact_duplicates_tie_to_lower_index():
    base = np.random.default_rng(7).standard_normal((20, 16)).astype(np.float32)
    c = np.repeat(base, 3, axis=0)  # rows 3i, 3i+1, 3i+2 identical
    scores, idx = sim.topk(base, c, 3)
    np.testing.assert_array_equal(idx, 3 * np.arange(20)[:, None] + np.arange(3))
    assert (scores == scores[:, :1]).all(), "identical rows must score identically"
    s, i = sim.topk(c, None, 2)
    # Row 3j's two best are its two copies, in index order.
    np.testing.assert_array_equal(i[::3], 3 * np.arange(20)[:, None] + np.array([1, 2]))


def test_all_equal_scores_order_by_index():
    c = np.ones((50, 8), dtype=np.float32)
    _, idx = sim.topk(np.ones((2, 8), np.float32), c, 10)
    np.testing.assert_array_equal(idx, np.tile(np.arange(10), (2, 1)))


@pytest.mark.parametrize(
    "q, n, k, cols",
    [(0, 10, 3, 3), (4, 0, 3, 0), (4, 10, 0, 0), (4, 10, 10, 10), (4, 10, 11, 10), (1, 1, 5, 1)],
)
def test_edge_shapes(q, n, k, cols):
    rng = np.random.default_rng(0)
    qa = rng.standard_normal((q, 8)).astype(np.float32)
    ca = rng.standard_normal((n, 8)).astype(np.float32)
    scores, idx = sim.topk(qa, ca, k)
    assert scores.shape == idx.shape == (q, cols)
    assert_topk(reference_scores(qa, ca, "cosine"), scores, idx, k, TOL)


def test_self_edge_shapes():
    for n in (0, 1, 2):
        x = np.ones((n, 4), np.float32)
        s, i = sim.topk(x, None, 3)
        assert s.shape == (n, max(n - 1, 0))
    assert sim.paraphrase_mining_embeddings(np.ones((1, 4), np.float32)) == []
    assert sim.paraphrase_mining_embeddings(np.zeros((0, 4), np.float32)) == []
    assert sim.community_detection(np.zeros((0, 4), np.float32)) == []


def test_zero_rows_score_zero():
    c = np.zeros((5, 8), np.float32)
    c[2] = 1.0
    scores, idx = sim.topk(np.ones((1, 8), np.float32), c, 5)
    assert idx[0, 0] == 2 and scores[0, 0] == pytest.approx(1.0, abs=1e-6)
    assert (scores[0, 1:] == 0).all()


def test_one_dimensional_query_is_one_row(rng):
    c = rng.standard_normal((30, 8)).astype(np.float32)
    s1, i1 = sim.topk(c[3], c, 4)
    s2, i2 = sim.topk(c[3:4], c, 4)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_array_equal(s1, s2)


@pytest.mark.parametrize("threads", [1, 2, 3, 5])
def test_thread_counts_agree(rng, threads):
    x = rng.standard_normal((700, 64)).astype(np.float32)
    base = sim.topk(x[:90], x, 9, threads=1), sim.topk(x, None, 9, threads=1)
    other = sim.topk(x[:90], x, 9, threads=threads), sim.topk(x, None, 9, threads=threads)
    for (s0, i0), (s1, i1) in zip(base, other):
        np.testing.assert_array_equal(s0, s1)
        np.testing.assert_array_equal(i0, i1)


# ---------------------------------------------------------------- SIMD levels
def test_simd_level_reporting(monkeypatch):
    monkeypatch.delenv("FASTSBERT_SIMD", raising=False)
    levels = sim.simd_levels()
    assert levels[0] == "scalar" and set(levels) <= {"scalar", "avx2", "avx512"}
    rates = sim.simd_rates()
    simd = [level for level in levels if level != "scalar"]
    if len(simd) < 2:
        assert rates == {} and sim.simd_level() == levels[-1]
    else:
        # The widest level unless a narrower one measured at least 8% faster.
        assert list(rates) == simd and all(r > 0 for r in rates.values())
        expect, to_beat = simd[-1], rates[simd[-1]] * 1.08
        for level in reversed(simd[:-1]):
            if rates[level] > to_beat:
                expect, to_beat = level, rates[level] * 1.08
        assert sim.simd_level() == expect
        assert sim.simd_rates() == rates  # measured once per process
    for level in levels:
        monkeypatch.setenv("FASTSBERT_SIMD", level)
        assert sim.simd_level() == level
    monkeypatch.setenv("FASTSBERT_SIMD", "sse9")
    with pytest.raises(ValueError, match="FASTSBERT_SIMD"):
        sim.simd_level()
    with pytest.raises(ValueError, match="FASTSBERT_SIMD"):
        sim.topk(np.ones((2, 4), np.float32), np.ones((2, 4), np.float32), 1)


@pytest.mark.parametrize("level", ["avx2", "avx512"])
def test_levels_bit_identical_to_scalar(monkeypatch, level):
    if level not in sim.simd_levels():
        pytest.skip(f"{level} not available on this machine")
    rng = np.random.default_rng(99)
    # d = 384 spans several column blocks of 1000 rows; 97 is odd-sized for every tile.
    q = rng.standard_normal((61, 384)).astype(np.float32)
    c = with_duplicates(rng.standard_normal((1000, 384)).astype(np.float32))
    x = with_duplicates(rng.standard_normal((613, 97)).astype(np.float32), 11)
    clustered = (np.repeat(rng.standard_normal((20, 32)), 15, axis=0)
                 + 0.3 * rng.standard_normal((300, 32))).astype(np.float32)

    def run():
        return (
            sim.topk(q, c, 13, threads=2),
            sim.topk(q, c, 13, metric="dot", threads=3),
            sim.topk(x, None, 21, threads=2),
            sim.paraphrase_mining_embeddings(x, top_k=4, max_pairs=1000, as_arrays=True),
            sim.community_detection(clustered, threshold=0.6, min_community_size=5),
        )

    monkeypatch.setenv("FASTSBERT_SIMD", "scalar")
    want = run()
    monkeypatch.setenv("FASTSBERT_SIMD", level)
    got = run()
    for w, g in zip(want[:4], got[:4]):
        np.testing.assert_array_equal(w[0], g[0])
        np.testing.assert_array_equal(w[1], g[1])
    assert want[4] == got[4]


# ---------------------------------------------------------------- paraphrase mining
def reference_pairs(x: np.ndarray, top_k: int, max_pairs: int):
    """The definition, by brute force: union of each row's top_k other rows."""
    ref = reference_scores(x, x, "cosine")
    np.fill_diagonal(ref, -np.inf)
    pairs = {}
    for i in range(len(x)):
        for j in np.argsort(-ref[i], kind="stable")[: min(top_k, len(x) - 1)]:
            a, b = min(i, int(j)), max(i, int(j))
            pairs[(a, b)] = ref[i, j]
    out = sorted(((s, a, b) for (a, b), s in pairs.items()), key=lambda t: (-t[0], t[1], t[2]))
    return out[:max_pairs]


@pytest.mark.parametrize("top_k, max_pairs", [(1, 1000), (5, 1000), (5, 40), (400, 10**6)])
def test_paraphrase_mining_matches_definition(rng, top_k, max_pairs):
    x = rng.standard_normal((257, 24)).astype(np.float32)
    got = sim.paraphrase_mining_embeddings(x, top_k=top_k, max_pairs=max_pairs)
    want = reference_pairs(x, top_k, max_pairs)
    assert len(got) == len(want)
    assert all(i < j for _, i, j in got)
    assert len({(i, j) for _, i, j in got}) == len(got), "duplicate pair"
    s_got = np.array([s for s, _, _ in got])
    np.testing.assert_allclose(s_got, [s for s, _, _ in want], atol=TOL)
    assert (np.diff(s_got) <= 0).all()
    ref = reference_scores(x, x, "cosine")
    np.testing.assert_allclose(s_got, [ref[i, j] for _, i, j in got], atol=TOL)
    # Same pairs, except where float32 rounding reorders scores closer than TOL.
    close = {(i, j) for s, i, j in want if abs(s - want[-1][0]) <= TOL}
    assert {(i, j) for _, i, j in got} - close == {(i, j) for _, i, j in want} - close
    if len(want) < 200:
        assert [(i, j) for _, i, j in got] == [(i, j) for _, i, j in want]
    scores, pairs = sim.paraphrase_mining_embeddings(x, top_k=top_k, max_pairs=max_pairs, as_arrays=True)
    assert scores.dtype == np.float32 and pairs.dtype == np.int64 and pairs.shape == (len(got), 2)


def test_paraphrase_mining_like_sentence_transformers(rng):
    st_util = pytest.importorskip("sentence_transformers.util")
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((400, 32)).astype(np.float32)
    want = st_util.paraphrase_mining_embeddings(torch.from_numpy(x), top_k=3, max_pairs=500)
    got = sim.paraphrase_mining_embeddings(x, top_k=3, max_pairs=500)
    assert {tuple(map(type, [p, *p])) for p in got} == {tuple(map(type, [p, *p])) for p in want}
    assert [p[1:] for p in got] == [p[1:] for p in want]
    np.testing.assert_allclose([p[0] for p in got], [p[0] for p in want], atol=TOL)


def test_paraphrase_mining_of_texts_encodes_then_mines():
    import fastsbert

    texts = ["A man plays a flute.", "Someone plays a flute.", "A dog runs.", "A cat sleeps."]
    enc = fastsbert.Encoder()
    want = sim.paraphrase_mining_embeddings(enc.encode(texts), top_k=2)
    assert fastsbert.paraphrase_mining(texts, model=enc, top_k=2) == want
    assert fastsbert.paraphrase_mining(texts, top_k=2) == want  # the default model
    with pytest.raises(TypeError, match="paraphrase_mining_embeddings"):
        fastsbert.paraphrase_mining(enc.encode(texts))


# ---------------------------------------------------------------- semantic search, communities
def test_semantic_search_like_sentence_transformers(rng):
    st_util = pytest.importorskip("sentence_transformers.util")
    torch = pytest.importorskip("torch")
    q = rng.standard_normal((9, 32)).astype(np.float32)
    c = rng.standard_normal((500, 32)).astype(np.float32)
    want = st_util.semantic_search(torch.from_numpy(q), torch.from_numpy(c), top_k=6)
    got = sim.semantic_search(q, c, top_k=6)
    assert [[h["corpus_id"] for h in r] for r in got] == [[h["corpus_id"] for h in r] for r in want]
    for r_got, r_want in zip(got, want):
        for a, b in zip(r_got, r_want):
            assert set(a) == {"corpus_id", "score"} and a["score"] == pytest.approx(b["score"], abs=TOL)


def reference_communities(x: np.ndarray, threshold: float, min_size: int) -> list[list[int]]:
    """sentence-transformers' algorithm on the float64 score matrix."""
    ref = reference_scores(x, x, "cosine")
    cands = []
    for i in range(len(x)):
        members = [j for j in np.lexsort((np.arange(len(x)), -ref[i])) if ref[i, j] >= threshold]
        if len(members) >= min_size:
            cands.append((i, members))
    cands.sort(key=lambda c: len(c[1]), reverse=True)
    used, out = set(), []
    for center, members in cands:
        if center in used:
            continue
        free = [m for m in members if m not in used]
        if len(free) >= min_size:
            comm = [center] + [m for m in free if m != center]
            out.append([int(m) for m in comm])
            used.update(comm)
    return sorted(out, key=len, reverse=True)


def clustered(rng, centres: int, per: int, dim: int, noise: float) -> np.ndarray:
    c = rng.standard_normal((centres, dim))
    x = np.repeat(c, per, axis=0) + noise * rng.standard_normal((centres * per, dim))
    return x[rng.permutation(len(x))].astype(np.float32)


@pytest.mark.parametrize("threshold, min_size", [(0.6, 5), (0.8, 3), (0.99, 1), (-1.0, 600)])
def test_community_detection_matches_reference(rng, threshold, min_size):
    x = clustered(rng, 25, 20, 32, 0.35)
    got = sim.community_detection(x, threshold=threshold, min_community_size=min_size)
    want = reference_communities(x, threshold, min_size)
    assert [sorted(c) for c in got] == [sorted(c) for c in want]
    assert [c[0] for c in got] == [c[0] for c in want]


def test_community_detection_like_sentence_transformers(rng):
    st_util = pytest.importorskip("sentence_transformers.util")
    x = clustered(rng, 12, 15, 16, 0.3)
    want = st_util.community_detection(x, threshold=0.7, min_community_size=6)
    got = sim.community_detection(x, threshold=0.7, min_community_size=6)
    assert [sorted(c) for c in got] == [sorted(int(m) for m in c) for c in want]


def test_packing_once_or_per_tile_agree(rng, monkeypatch):
    """Small sets are packed once before the all-pairs rounds, large ones per tile: both
    give the same bits (an odd dimension, blocks of uneven panels, 1 to 3 threads)."""
    x = with_duplicates(rng.standard_normal((1509, 97)).astype(np.float32), 13)
    clustered_x = clustered(rng, 30, 20, 32, 0.35)

    def run(threads):
        return (
            sim.topk(x, None, 17, threads=threads),
            sim.topk(x, None, 5, metric="dot", threads=threads),
            sim.paraphrase_mining_embeddings(x, top_k=3, max_pairs=500, as_arrays=True),
            sim.community_detection(clustered_x, threshold=0.6, min_community_size=4),
        )

    for threads in (1, 2, 3):
        monkeypatch.delenv("FASTSBERT_TOPK_PREPACK_BYTES", raising=False)
        once = run(threads)
        monkeypatch.setenv("FASTSBERT_TOPK_PREPACK_BYTES", "0")
        per_tile = run(threads)
        for a, b in zip(once[:3], per_tile[:3]):
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1], b[1])
        assert once[3] == per_tile[3]
    monkeypatch.setenv("FASTSBERT_TOPK_PREPACK_BYTES", "lots")
    with pytest.raises(ValueError, match="FASTSBERT_TOPK_PREPACK_BYTES"):
        sim.topk(x, None, 3)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("fn", ["search", "self", "pairs", "communities"])
def test_rejects_float64(fn):
    x = np.ones((4, 3))
    with pytest.raises(TypeError, match="float32"):
        call(fn, x)


@pytest.mark.parametrize("fn", ["search", "self", "pairs", "communities"])
def test_rejects_non_contiguous(fn):
    x = np.ones((4, 6), np.float32)[:, ::2]
    with pytest.raises(ValueError, match="C-contiguous"):
        call(fn, x)


@pytest.mark.parametrize("fn", ["search", "self", "pairs", "communities"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_rejects_non_finite(fn, bad):
    x = np.ones((40, 3), np.float32)
    x[17, 1] = bad
    with pytest.raises(ValueError, match="NaN or infinity"):
        call(fn, x)


def call(fn: str, x: np.ndarray):
    ok = np.ones((3, x.shape[1]), np.float32)
    if fn == "search":
        sim.topk(x, ok, 2)
        sim.topk(ok, x, 2)
    elif fn == "self":
        sim.topk(x, None, 2)
    elif fn == "pairs":
        sim.paraphrase_mining_embeddings(x, top_k=2)
    else:
        sim.community_detection(x, threshold=0.5, min_community_size=1)


def test_rejects_bad_arguments():
    x = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match="dimension mismatch"):
        sim.topk(x, np.ones((4, 5), np.float32), 2)
    with pytest.raises(ValueError, match="metric"):
        sim.topk(x, x, 2, metric="l2")
    with pytest.raises(ValueError, match="k"):
        sim.topk(x, x, -1)
    with pytest.raises(ValueError, match="2-D"):
        sim.topk(np.ones((2, 2, 2), np.float32), x, 1)
    with pytest.raises(ValueError, match="device"):
        sim.topk(x, None, 1, device="cuda")


@pytest.mark.skipif(sim.cuda_available(), reason="CUDA kernel present")
def test_cuda_unavailable_is_a_clear_error():
    x = np.ones((4, 3), np.float32)
    with pytest.raises(RuntimeError, match="CUDA top-k kernel is not available"):
        sim.topk(x, x, 2, device="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not sim.cuda_available(), reason="no CUDA top-k kernel or GPU")
@pytest.mark.parametrize("k", [1, 10, 100, 1000, 5000])
def test_cuda_matches_cpu(k):
    """The CPU result is the oracle: scores within 1e-5, indices equal except between
    scores closer than that."""
    rng = np.random.default_rng(5)
    q = rng.standard_normal((300, 384)).astype(np.float32)
    c = with_duplicates(rng.standard_normal((4000, 384)).astype(np.float32))
    s_cpu, i_cpu = sim.topk(q, c, k)
    s_gpu, i_gpu = sim.topk(q, c, k, device="cuda")
    assert s_gpu.shape == s_cpu.shape and i_gpu.shape == i_cpu.shape
    np.testing.assert_allclose(s_gpu, s_cpu, atol=TOL, rtol=0)
    assert_topk(reference_scores(q, c, "cosine"), s_gpu, i_gpu, k, 2 * TOL)
