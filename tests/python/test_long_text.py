"""long_text="chunk": overlapping token windows pooled into one vector.

The reference builds the windows itself from HF `tokenizers` ids and runs each through
sentence-transformers' model on token ids, then takes the token-weighted mean in NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastsbert
from fastsbert.long_text import SpecialLayout, split_windows


@pytest.fixture(scope="module")
def encoder() -> fastsbert.Encoder:
    return fastsbert.Encoder()


@pytest.fixture(scope="module")
def reference():
    st = pytest.importorskip("sentence_transformers")
    from fastsbert.model_cache import default_model_source

    return st.SentenceTransformer(str(default_model_source()), device="cpu")


LONG = " ".join(f"sentence {i} talks about topic {i % 7} at some length" for i in range(120))


def _st_windows(reference, text: str, overlap: int) -> np.ndarray:
    import torch

    tok = reference.tokenizer
    content = tok(text, add_special_tokens=False)["input_ids"]
    width = reference.max_seq_length - 2
    vectors, weights, start = [], [], 0
    while True:
        piece = content[start:start + width]
        ids = torch.tensor([[tok.cls_token_id, *piece, tok.sep_token_id]])
        with torch.no_grad():
            out = reference({"input_ids": ids, "attention_mask": torch.ones_like(ids)})
        vectors.append(out["sentence_embedding"][0].numpy().astype(np.float64))
        weights.append(len(piece))
        if start + width >= len(content):
            break
        start += width - overlap
    mean = np.average(np.stack(vectors), axis=0, weights=weights)
    return mean / np.linalg.norm(mean)  # all-MiniLM-L6-v2 normalises


@pytest.mark.parametrize("overlap", [0, 32])
def test_long_text_matches_windows_through_sentence_transformers(encoder, reference, overlap):
    got = encoder.encode(LONG, long_text="chunk", chunk_overlap=overlap)
    want = _st_windows(reference, LONG, overlap)
    assert float(got @ want) / np.linalg.norm(got) >= 0.99999
    assert float(got @ encoder.encode(LONG)) < 0.999  # not just the truncated text


def test_texts_within_the_limit_are_unchanged(encoder, stsb_test_sentences):
    texts = stsb_test_sentences[:200]
    np.testing.assert_array_equal(encoder.encode(texts, long_text="chunk"), encoder.encode(texts))
    mixed = encoder.encode([LONG, *texts[:50]], long_text="chunk")
    np.testing.assert_allclose(mixed[1:], encoder.encode(texts[:50]), atol=2e-6)


def test_order_does_not_matter(encoder, stsb_test_sentences):
    texts = [LONG, stsb_test_sentences[0], LONG[: len(LONG) // 2], stsb_test_sentences[1]]
    a = encoder.encode(texts, long_text="chunk")
    b = encoder.encode(texts[::-1], long_text="chunk")[::-1]
    np.testing.assert_allclose(a, b, atol=2e-6)


def test_window_edges():
    layout = SpecialLayout((1,), (2,))
    content = np.arange(10, 24, dtype=np.int64)  # 14 content tokens
    ids = np.concatenate([[1], content, [2], [1, 99, 2]])
    offsets = np.array([0, 16, 19])
    w = split_windows(ids, offsets, max_length=8, layout=layout, overlap=2)  # 6 per window
    got = [ids.tolist() for ids in np.split(w.ids, w.offsets[1:-1])]
    assert got == [
        [1, 10, 11, 12, 13, 14, 15, 2],
        [1, 14, 15, 16, 17, 18, 19, 2],
        [1, 18, 19, 20, 21, 22, 23, 2],
        [1, 99, 2],
    ]
    assert w.owner.tolist() == [0, 0, 0, 1] and w.weight.tolist() == [6, 6, 6, 1]
    # A text exactly at the limit is one window.
    exact = np.concatenate([[1], content[:6], [2]])
    assert len(split_windows(exact, np.array([0, 8]), 8, layout, 2).owner) == 1


def test_bad_long_text_arguments(encoder):
    with pytest.raises(ValueError, match="long_text must be one of"):
        encoder.encode("x", long_text="split")
    with pytest.raises(ValueError, match=r"chunk_overlap must be in \[0, 253\]"):
        encoder.encode(LONG, long_text="chunk", chunk_overlap=254)
    with pytest.raises(TypeError, match="chunk_overlap"):
        encoder.encode(LONG, long_text="chunk", chunk_overlap=1.5)
