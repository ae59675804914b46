"""A tokenizer.json the native tokenizer cannot run: Encoder falls back to HF `tokenizers`.

The model is an exported all-MiniLM-L6-v2 whose normalizer gains a regex Replace (which
the native tokenizer does not support) that changes none of the test texts, so the
fallback must give exactly the ids HF gives and exactly the vectors of the native path.
"""

from __future__ import annotations

import json
import shutil
import warnings

import fastsbert
import numpy as np
import pytest
from fastsbert import encoder as encoder_module
from tokenizers import Tokenizer


@pytest.fixture(scope="module")
def native() -> fastsbert.Encoder:
    return fastsbert.Encoder()


@pytest.fixture(scope="module")
def fallback_dir(native, tmp_path_factory):
    path = tmp_path_factory.mktemp("fallback") / "minilm-regex"
    shutil.copytree(native.model_dir, path)
    spec = json.loads((path / "tokenizer.json").read_text(encoding="utf-8"))
    spec["normalizer"] = {
        "type": "Sequence",
        "normalizers": [
            {"type": "Replace", "pattern": {"Regex": "zqzqzq"}, "content": "zqzqzq"},
            spec["normalizer"],
        ],
    }
    (path / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def fallback(fallback_dir) -> fastsbert.Encoder:
    encoder_module._WARNED.clear()
    with pytest.warns(UserWarning, match="Replace with a Regex pattern.*`tokenizers` package"):
        enc = fastsbert.Encoder(fallback_dir)
    return enc


@pytest.fixture(scope="module")
def texts(stsb_test_sentences) -> list[str]:
    long_text = " ".join(f"token{i} and more words" for i in range(300))
    return stsb_test_sentences[:300] + ["", " ", long_text, "caf\u00e9 \U0001f600 \u4e2d\u6587"]


def test_falls_back_and_warns_once(fallback, fallback_dir):
    assert not fallback.native_tokenizer
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same reason is not reported twice
        again = fastsbert.Encoder(fallback_dir)
    assert not again.native_tokenizer


def test_ids_equal_hf_tokenizers(fallback, fallback_dir, texts):
    hf = Tokenizer.from_file(str(fallback_dir / "tokenizer.json"))
    hf.no_padding()
    want = [e.ids for e in hf.encode_batch(texts)]
    ids, offsets = fallback.tokenize(texts)
    got = [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])]
    assert got == want
    assert max(len(w) for w in want) == fallback.max_seq_length  # truncation applied


def test_vectors_equal_the_native_path(fallback, native, texts):
    np.testing.assert_allclose(fallback.encode(texts), native.encode(texts), atol=1e-6)
    np.testing.assert_allclose(fallback.encode(texts[0]), native.encode(texts[0]), atol=1e-6)
    assert fallback.encode([]).shape == (0, native.dim)


def test_bad_input_is_named(fallback):
    with pytest.raises(TypeError, match=r"texts\[1\] is NoneType"):
        fallback.encode(["ok", None])
    with pytest.raises(ValueError, match=r"texts\[2\] cannot be encoded as UTF-8"):
        fallback.encode(["ok", "fine", "bad \ud800"])
    with pytest.raises(TypeError, match="ordered sequence"):
        fallback.encode({"a", "b"})
