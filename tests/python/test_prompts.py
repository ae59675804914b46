"""Prompts, encode_query / encode_document and truncate_dim, against sentence-transformers
itself: the same prompt rules, the same vectors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fastsbert

st = pytest.importorskip("sentence_transformers")

QUERIES = ["how do flutes work", "cats sleeping in the sun", "", "a b c " * 60]
PROMPTS = {"query": "query: ", "passage": "passage: ", "classification": "Classify the topic: "}


def _cos_min(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return float((a * b).sum(axis=1).min())


def _assert_same(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape
    assert _cos_min(ours, theirs) >= 0.99999
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), np.linalg.norm(theirs, axis=1),
                               rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def prompted(tiny_st_model):
    """A tiny model whose saved config has prompts and a default prompt, as e5/bge-style
    models publish them; exported by fastsbert, loaded by sentence-transformers."""
    path = tiny_st_model("bert", "mean", prompts=PROMPTS, max_seq_length=32)
    cfg_path = path / "config_sentence_transformers.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["default_prompt_name"] = "classification"
    cfg_path.write_text(json.dumps(cfg))
    return fastsbert.Encoder(path), st.SentenceTransformer(str(path), device="cpu")


def test_saved_prompts_and_default(prompted):
    ours, theirs = prompted
    assert ours.prompts == theirs.prompts
    assert ours.default_prompt_name == theirs.default_prompt_name == "classification"
    # The default prompt applies when none is given; texts past max_seq_length show that
    # the prompt's tokens count toward the limit.
    _assert_same(ours.encode(QUERIES), theirs.encode(QUERIES))
    for kw in ({"prompt_name": "query"}, {"prompt": "Represent this: "}, {"prompt": ""}):
        _assert_same(ours.encode(QUERIES, **kw), theirs.encode(QUERIES, **kw))


def test_query_and_document_rules(prompted):
    ours, theirs = prompted
    # encode_query takes "query"; encode_document takes the first of document / passage /
    # corpus present (the always-present, empty "document" here), never the default.
    _assert_same(ours.encode_query(QUERIES), theirs.encode_query(QUERIES))
    _assert_same(ours.encode_document(QUERIES), theirs.encode_document(QUERIES))
    _assert_same(ours.encode_document(QUERIES, prompt_name="passage"),
                 theirs.encode_document(QUERIES, prompt_name="passage"))
    assert not np.allclose(ours.encode_query(QUERIES), ours.encode_document(QUERIES), atol=1e-4)


def test_prompts_given_to_the_constructor(tiny_st_model):
    path = tiny_st_model("roberta", "cls", max_seq_length=32)
    mine = {"query": "search_query: ", "document": "search_document: "}
    ours = fastsbert.Encoder(path, prompts=mine, default_prompt_name="query")
    theirs = st.SentenceTransformer(str(path), device="cpu", prompts=mine,
                                    default_prompt_name="query")
    _assert_same(ours.encode(QUERIES), theirs.encode(QUERIES))
    _assert_same(ours.encode_document(QUERIES), theirs.encode_document(QUERIES))


def test_prompt_errors(prompted):
    ours, _ = prompted
    with pytest.raises(ValueError, match="'nope' is not one of the model's prompts"):
        ours.encode(QUERIES, prompt_name="nope")
    with pytest.raises(TypeError, match="prompt must be a str"):
        ours.encode(QUERIES, prompt=3)
    with pytest.raises(ValueError, match="default_prompt_name 'x'"):
        fastsbert.Encoder(ours.model_dir, default_prompt_name="x")
    with pytest.warns(UserWarning, match="prompt_name is ignored"):
        ours.encode(QUERIES[:1], prompt="a: ", prompt_name="query")


@pytest.mark.parametrize("normalize", [False, True])
def test_truncate_dim_matches_sentence_transformers(minilm_dir, minilm_exported, normalize):
    """all-MiniLM-L6-v2 ends in Normalize: truncated vectors are not unit length unless
    normalize=True, which normalises after the cut."""
    texts = QUERIES[:3]
    theirs = st.SentenceTransformer(str(minilm_dir), device="cpu", truncate_dim=96)
    expected = theirs.encode(texts, normalize_embeddings=normalize)
    by_init = fastsbert.Encoder(minilm_exported, truncate_dim=96)
    assert by_init.dim == 96 and by_init.model_dim == 384
    _assert_same(by_init.encode(texts, normalize=normalize), expected)
    per_call = fastsbert.Encoder(minilm_exported).encode(texts, truncate_dim=96, normalize=normalize)
    _assert_same(per_call, expected)
    norms = np.linalg.norm(per_call, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5) == normalize
    # The precision tiers apply after truncation, as in sentence-transformers.
    packed = fastsbert.Encoder(minilm_exported).encode(texts, truncate_dim=96, precision="ubinary")
    np.testing.assert_array_equal(
        packed, theirs.encode(texts, precision="ubinary", normalize_embeddings=normalize))


def test_truncate_dim_checks(minilm_exported):
    with pytest.raises(ValueError, match="truncate_dim must be at most the model's dimension 384"):
        fastsbert.Encoder(minilm_exported, truncate_dim=385)
    with pytest.raises(ValueError, match="truncate_dim"):
        fastsbert.Encoder(minilm_exported).encode(["x"], truncate_dim=0)


def test_chunked_windows_each_start_with_the_prompt(prompted):
    """long_text="chunk" with a prompt: a text within the limit gives the truncate vector;
    every window of a longer one begins with the prompt's tokens."""
    from fastsbert.long_text import split_windows

    ours, _ = prompted
    short = QUERIES[:2]
    np.testing.assert_array_equal(ours.encode(short, long_text="chunk", chunk_overlap=4,
                                              prompt_name="query"),
                                  ours.encode(short, prompt_name="query"))
    prompt_ids, prompt_offsets = ours.tokenize(["query: "], truncate=False)
    layout = ours._layout()
    head = prompt_ids[len(layout.prefix):prompt_offsets[1] - len(layout.suffix)].tolist()
    ids, offsets = ours.tokenize(["query: " + QUERIES[3]], truncate=False)
    windows = split_windows(ids, offsets, ours.max_seq_length, layout, 4, len(head))
    assert len(windows.owner) > 2
    for a, b in zip(windows.offsets[:-1], windows.offsets[1:]):
        window = windows.ids[a:b].tolist()
        assert len(window) <= ours.max_seq_length
        assert window[len(layout.prefix):len(layout.prefix) + len(head)] == head
    chunked = ours.encode(QUERIES[3:], long_text="chunk", chunk_overlap=4, prompt_name="query")
    rows = ours.encode_tokens(windows.ids, windows.offsets)
    expected = (rows * windows.weight[:, None]).sum(0) / windows.weight.sum()
    assert _cos_min(chunked, expected[None].astype(np.float32)) >= 0.99999


@pytest.mark.parametrize("arch", ["bert", "roberta"])
def test_pooling_without_the_prompt(tiny_st_model, tmp_path, arch):
    """A Pooling with include_prompt=false (instructor-style models): the graph takes the
    prompt's token count and leaves those tokens out, as sentence-transformers does."""
    import shutil

    src = tmp_path / "src"
    shutil.copytree(tiny_st_model(arch, "mean", prompts=PROMPTS, max_seq_length=32), src)
    cfg_path = src / "1_Pooling" / "config.json"
    cfg_path.write_text(json.dumps({**json.loads(cfg_path.read_text()), "include_prompt": False}))
    ours = fastsbert.Encoder(src)
    theirs = st.SentenceTransformer(str(src), device="cpu")
    assert ours.excludes_prompt
    assert not theirs[1].include_prompt
    for kw in ({}, {"prompt_name": "query"}, {"prompt": "Represent this sentence: "}):
        _assert_same(ours.encode(QUERIES, **kw), theirs.encode(QUERIES, **kw))
    _assert_same(ours.encode_query(QUERIES), theirs.encode_query(QUERIES))
    # Leaving the prompt out is not the same as pooling it.
    pooled = fastsbert.Encoder(tiny_st_model(arch, "mean", prompts=PROMPTS, max_seq_length=32))
    assert _cos_min(pooled.encode(QUERIES[:2], prompt_name="query"),
                    ours.encode(QUERIES[:2], prompt_name="query")) < 0.99999
    with pytest.raises(ValueError, match="prompt_length"):
        pooled.encode_tokens(*pooled.tokenize(QUERIES[:1]), prompt_length=2)
