"""Compact embeddings: parity with sentence-transformers' quantize_embeddings."""

from __future__ import annotations

import numpy as np
import pytest

import fastsbert
from fastsbert.compact import calibration_ranges, quantize_embeddings

st_quant = pytest.importorskip("sentence_transformers.quantization")


@pytest.fixture(scope="module")
def emb(stsb_test_sentences) -> np.ndarray:
    return fastsbert.encode(stsb_test_sentences[:400])


@pytest.mark.parametrize("precision", ["float32", "int8", "uint8", "binary", "ubinary"])
def test_matches_sentence_transformers(emb, precision):
    calib = emb[:150]
    want = st_quant.quantize_embeddings(emb, precision, calibration_embeddings=calib)
    got = quantize_embeddings(emb, precision, calibration_embeddings=calib)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    ranges = calibration_ranges(calib)
    np.testing.assert_array_equal(quantize_embeddings(emb, precision, ranges=ranges), want)


@pytest.mark.parametrize("precision", ["int8", "uint8"])
def test_ranges_from_the_embeddings_themselves(emb, precision):
    want = st_quant.quantize_embeddings(emb, precision)
    np.testing.assert_array_equal(quantize_embeddings(emb, precision), want)


def test_encode_precision(stsb_test_sentences, emb):
    texts = stsb_test_sentences[:400]
    ranges = calibration_ranges(emb)
    np.testing.assert_array_equal(fastsbert.encode(texts, precision="ubinary"),
                                  np.packbits(emb > 0, axis=-1))
    np.testing.assert_array_equal(fastsbert.encode(texts, precision="int8", ranges=ranges),
                                  st_quant.quantize_embeddings(emb, "int8", ranges=ranges))
    one = fastsbert.encode(texts[0], precision="uint8", ranges=ranges)
    assert one.shape == (emb.shape[1],) and one.dtype == np.uint8


def test_bad_precision_arguments(emb):
    with pytest.raises(ValueError, match="precision must be one of"):
        quantize_embeddings(emb, "int4")
    with pytest.raises(ValueError, match="needs quantization ranges"):
        quantize_embeddings(emb[:1], "int8")
    with pytest.raises(ValueError, match=r"ranges must have shape \(2, 384\)"):
        quantize_embeddings(emb, "int8", ranges=np.zeros((2, 3)))
    with pytest.raises(TypeError, match="floating point"):
        quantize_embeddings(emb.astype(np.int8), "binary")
