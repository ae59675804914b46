"""Bad arguments give errors that name them: no silent coercion, no pybind11 signatures."""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict

import fastsbert
import numpy as np
import pytest
from fastsbert import _core


@pytest.fixture(scope="module")
def encoder() -> fastsbert.Encoder:
    return fastsbert.Encoder()


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((20, 8)).astype(np.float32)


@pytest.mark.parametrize("value, error, message", [
    (True, TypeError, "batch_size must be an int, got bool"),
    (3.7, TypeError, "batch_size must be an int, got float"),
    ("8", TypeError, "batch_size must be an int, got str"),
    (0, ValueError, "batch_size must be at least 1"),
    (2**40, ValueError, "batch_size must be at most"),
])
def test_batch_size(encoder, value, error, message):
    with pytest.raises(error, match=message):
        encoder.encode(["a"], batch_size=value)


def test_numpy_integers_are_ints(encoder):
    assert encoder.encode(["a", "b"], batch_size=np.int64(1)).shape == (2, encoder.dim)


@pytest.mark.parametrize("texts", [
    {"b", "a"}, frozenset({"a"}), {"a": 1}, OrderedDict(a=1), {"a": 1}.keys(),
], ids=["set", "frozenset", "dict", "ordered-dict", "dict-keys"])
def test_unordered_or_mapping_texts_are_rejected(encoder, texts):
    with pytest.raises(TypeError, match="texts must be"):
        encoder.encode(texts)


def test_ordered_iterables_are_accepted(encoder):
    want = encoder.encode(["a", "b"])
    for texts in (("a", "b"), iter(["a", "b"]), {"x": "a", "y": "b"}.values(), np.array(["a", "b"])):
        np.testing.assert_array_equal(encoder.encode(texts), want)


def test_normalize_must_be_a_bool(encoder):
    with pytest.raises(TypeError, match="normalize"):
        encoder.encode(["a"], normalize="yes")


@pytest.mark.parametrize("threads", [0, -5, True, 2.0])
def test_bad_thread_counts(threads, x):
    error = TypeError if isinstance(threads, (bool, float)) else ValueError
    with pytest.raises(error, match="threads"):
        fastsbert.Encoder(threads=threads)
    with pytest.raises(error, match="threads"):
        fastsbert.topk(x, x, 2, threads=threads)
    with pytest.raises(error, match="threads"):
        fastsbert.paraphrase_mining_embeddings(x, threads=threads)
    with pytest.raises(error, match="threads"):
        fastsbert.community_detection(x, threads=threads)


def test_thread_counts_above_the_cpus_are_capped_with_a_warning(x):
    available = _core.available_cpus()
    assert available == len(os.sched_getaffinity(0))
    with pytest.warns(UserWarning, match=f"exceeds the {available} CPUs"):
        enc = fastsbert.Encoder(threads=100_000)
    assert enc.encode("one text").shape == (enc.dim,)  # quick: not 100,000 threads
    with pytest.warns(UserWarning, match="threads=1000"):
        got = fastsbert.topk(x, x, 3, threads=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        want = fastsbert.topk(x, x, 3, threads=available)
    np.testing.assert_array_equal(got[1], want[1])


@pytest.mark.parametrize("k, error, message", [
    (3.7, TypeError, "k must be an int, got float"),
    (True, TypeError, "k must be an int, got bool"),
    (-1, ValueError, "k must be at least 0"),
])
def test_bad_k(x, k, error, message):
    with pytest.raises(error, match=message):
        fastsbert.topk(x, x, k)


def test_huge_k_returns_every_row(x):
    scores, idx = fastsbert.topk(x[:3], x, 2**70)
    assert scores.shape == idx.shape == (3, len(x))
    assert fastsbert.topk(x, None, 2**70)[0].shape == (len(x), len(x) - 1)
    pairs = fastsbert.paraphrase_mining_embeddings(x, top_k=2**70, max_pairs=2**70)
    assert len(pairs) == len(x) * (len(x) - 1) // 2


def test_huge_min_community_size_gives_no_community(x):
    same = np.ones((5, 8), np.float32)
    assert fastsbert.community_detection(same, threshold=0.5, min_community_size=5) == [[0, 1, 2, 3, 4]]
    assert fastsbert.community_detection(same, threshold=0.5, min_community_size=6) == []
    assert fastsbert.community_detection(same, threshold=0.5, min_community_size=2**70) == []


@pytest.mark.parametrize("kwargs, error, message", [
    ({"top_k": 2.5}, TypeError, "top_k"),
    ({"max_pairs": -1}, ValueError, "max_pairs"),
    ({"metric": "l2"}, ValueError, "metric"),
])
def test_bad_mining_arguments(x, kwargs, error, message):
    with pytest.raises(error, match=message):
        fastsbert.paraphrase_mining_embeddings(x, **kwargs)


@pytest.mark.parametrize("threshold, error", [(float("nan"), ValueError), ("0.5", TypeError), (None, TypeError)])
def test_bad_threshold(x, threshold, error):
    with pytest.raises(error, match="threshold"):
        fastsbert.community_detection(x, threshold=threshold)


def test_bad_device_type():
    with pytest.raises(TypeError, match="device"):
        fastsbert.Encoder(device=0)
