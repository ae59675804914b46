"""Export of every module stack into one ONNX graph: the graph, fed the ids of
sentence-transformers' own tokenizer, gives sentence-transformers' vectors; Transformer-based
every stack also end to end through fastsbert.Encoder."""

from __future__ import annotations

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest

st = pytest.importorskip("sentence_transformers")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("torch")

import fastsbert
from fastsbert.exporter import CONFIG_NAME, export, is_complete_export
from st_stacks import HOSTILE, WORD_KINDS, build_stack

MIN_COS = 0.99999
TEXTS = [
    "A plane is taking off.",
    "A man is playing a large flute in the park while three children watch him closely.",
    "Two men are playing chess.",
    "Stocks fell sharply on Monday morning.",
    *HOSTILE,
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    cache = {}

    def get(kind: str):
        if kind == "phrase":
            pytest.importorskip("nltk")
        if kind not in cache:
            cache[kind] = build_stack(kind, tmp_path_factory.mktemp(kind) / "model")
        return cache[kind]

    return get


def _min_cos(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    cos = (a * b).sum(1) / np.maximum(na * nb, 1e-30)
    return float(np.where((na == 0) & (nb == 0), 1.0, cos).min())


def _pad(rows: list[list[int]]) -> dict[str, np.ndarray]:
    """Right-padded with 0, at least one slot (what the engine feeds for an empty text)."""
    width = max([1, *map(len, rows)])
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def _run_graph(out, feeds) -> np.ndarray:
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    return session.run(["sentence_embedding"], feeds)[0]


def _graph_in_batches(out, rows) -> np.ndarray:
    # Batches of different sizes and lengths: padding must not change a text's vector.
    return np.concatenate([_run_graph(out, _pad(rows[i : i + 5])) for i in range(0, len(rows), 5)])


@pytest.mark.parametrize("kind", WORD_KINDS)
def test_word_tokenizer_stacks(kind, stack, tmp_path):
    src = stack(kind)
    theirs = st.SentenceTransformer(str(src), device="cpu").eval()
    out = export(src, tmp_path / "out")
    cfg = json.loads((out / CONFIG_NAME).read_text())
    tokenizer = theirs[0].tokenizer
    expected_file = {
        "whitespace": "whitespacetokenizer_config.json",
        "phrase": "phrasetokenizer_config.json",
    }[cfg["word_tokenizer"]["type"]]
    assert cfg["word_tokenizer"]["file"] == expected_file
    assert cfg["inputs"] == ["input_ids", "attention_mask"]
    assert not (out / "tokenizer.json").exists() and is_complete_export(out)
    # The copied config reads back as the same tokenizer in sentence-transformers.
    reread = type(tokenizer).load(str(out))
    limit = cfg["max_seq_length"]
    assert limit == (None if kind == "bow" else theirs[0].max_seq_length)
    rows = [tokenizer.tokenize(t)[:limit] for t in TEXTS]
    assert rows == [reread.tokenize(t)[:limit] for t in TEXTS]
    got = _graph_in_batches(out, rows)
    assert got.shape == (len(TEXTS), cfg["dim"])
    want = theirs.encode(TEXTS)
    assert _min_cos(got, want) >= MIN_COS
    # End to end: the engine's native word tokenizer feeds the same graph.
    enc = fastsbert.Encoder(out)
    assert enc.native_tokenizer
    assert _min_cos(enc.encode(TEXTS, batch_size=3), want) >= MIN_COS


def test_lstm_graph_uses_onnx_lstm(stack, tmp_path):
    import onnx

    out = export(stack("lstm"), tmp_path / "out")
    ops = [n.op_type for n in onnx.load(str(out / "model.onnx")).graph.node]
    assert ops.count("LSTM") == 2  # one per layer, both directions in each


def test_static_embedding_with_head(stack, tmp_path):
    from tokenizers import Tokenizer

    src = stack("static_dense")
    theirs = st.SentenceTransformer(str(src), device="cpu").eval()
    out = export(src, tmp_path / "out")
    cfg = json.loads((out / CONFIG_NAME).read_text())
    assert cfg["add_special_tokens"] is False and cfg["max_seq_length"] is None
    assert "word_tokenizer" not in cfg and cfg["architecture"] == "StaticEmbedding"
    ids = [e.ids for e in theirs[0].tokenizer.encode_batch(TEXTS, add_special_tokens=False)]
    # The exported tokenizer gives these ids even when asked for special tokens.
    exported = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert [e.ids for e in exported.encode_batch(TEXTS, add_special_tokens=True)] == ids
    want = theirs.encode(TEXTS)
    assert _min_cos(_graph_in_batches(out, ids), want) >= MIN_COS
    # End to end: no length limit, and the native tokenizer without special tokens.
    enc = fastsbert.Encoder(out)
    assert enc.tokenize(TEXTS)[0].tolist() == [i for row in ids for i in row]
    assert _min_cos(enc.encode(TEXTS, batch_size=3), want) >= MIN_COS


@pytest.mark.parametrize("kind", ["layer_pooling", "transformer_cnn"])
def test_transformer_stacks_end_to_end(kind, stack, tmp_path):
    src = stack(kind)
    theirs = st.SentenceTransformer(str(src), device="cpu").eval()
    out = export(src, tmp_path / "out")
    got = fastsbert.Encoder(out).encode(TEXTS, batch_size=4)
    assert _min_cos(got, theirs.encode(TEXTS)) >= MIN_COS


def test_router_one_export_per_route(stack, tmp_path):
    src = stack("router")
    theirs = st.SentenceTransformer(str(src), device="cpu").eval()
    doc = export(src, tmp_path / "document", route="document")
    from fastsbert.cli import main

    assert main(["export", str(src), str(tmp_path / "query"), "--route", "query"]) == 0
    query = tmp_path / "query"
    assert json.loads((doc / CONFIG_NAME).read_text())["route"] == "document"
    qcfg = json.loads((query / CONFIG_NAME).read_text())
    assert qcfg["route"] == "query" and qcfg["normalize"] is True
    # The document route is a Transformer stack: end to end.
    got_doc = fastsbert.Encoder(doc).encode(TEXTS, batch_size=4)
    assert _min_cos(got_doc, theirs.encode_document(TEXTS)) >= MIN_COS
    # The query route is StaticEmbedding -> Normalize: its graph on sentence-transformers' ids.
    router = theirs[0]
    ids = [
        e.ids
        for e in router.sub_modules["query"][0].tokenizer.encode_batch(
            TEXTS, add_special_tokens=False
        )
    ]
    assert _min_cos(_graph_in_batches(query, ids), theirs.encode_query(TEXTS)) >= MIN_COS
    # End to end: the query route's export through the engine.
    got_query = fastsbert.Encoder(query).encode(TEXTS, batch_size=4)
    assert _min_cos(got_query, theirs.encode_query(TEXTS)) >= MIN_COS
    # Without a route: the default one (document), as encode() without a task.
    default = export(src, tmp_path / "default")
    assert json.loads((default / CONFIG_NAME).read_text())["route"] == "document"
    with pytest.raises(ValueError, match="no route for task 'passage'"):
        export(src, tmp_path / "bad", route="passage")
    assert not (tmp_path / "bad").exists()
    with pytest.raises(ValueError, match="has no Router"):
        export(stack("cnn"), tmp_path / "bad2", route="query")


def test_bad_stack_leaves_nothing(stack, tmp_path):
    import shutil

    bad = shutil.copytree(stack("lstm"), tmp_path / "bad")
    cfg_file = bad / "whitespacetokenizer_config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["vocab"] = cfg["vocab"][:-1]
    cfg_file.write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=r"model\.safetensors.*whitespacetokenizer_config\.json"):
        export(bad, tmp_path / "out")
    bad = shutil.copytree(stack("lstm"), tmp_path / "bad2")
    (bad / "1_LSTM" / "lstm_config.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"1_LSTM.*lstm_config\.json"):
        export(bad, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad", "bad2"]


def test_router_model_routes_queries_and_documents(stack, monkeypatch, tmp_path):
    """fastsbert.Encoder on the Router model itself: encode() takes the default route, and
    encode_query / encode_document their own routes, as sentence-transformers does."""
    monkeypatch.setenv("FASTSBERT_HOME", str(tmp_path / "home"))
    src = stack("router")
    theirs = st.SentenceTransformer(str(src), device="cpu").eval()
    enc = fastsbert.Encoder(src)
    assert _min_cos(enc.encode(TEXTS, batch_size=4), theirs.encode(TEXTS)) >= MIN_COS
    assert _min_cos(enc.encode_query(TEXTS, batch_size=4), theirs.encode_query(TEXTS)) >= MIN_COS
    assert _min_cos(enc.encode_document(TEXTS, batch_size=4),
                    theirs.encode_document(TEXTS)) >= MIN_COS
    # The query route differs from the default one, so a second export serves it.
    assert enc._for_task("query") is not enc and enc._for_task("document") is enc
