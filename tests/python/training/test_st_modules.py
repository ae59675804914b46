"""Every sentence-transformers module kind: fastsbert.training loads sentence-transformers'
saves and sentence-transformers loads fastsbert's, with the same vectors; each trains."""

from __future__ import annotations

import gzip
import json
import shutil

import numpy as np
import pytest
import torch

st = pytest.importorskip("sentence_transformers")

from fastsbert.training import InputExample, SentenceEncoder, losses, models
from fastsbert.training.errors import UnsupportedModelError
from fsb_training_helpers import TEXTS
from st_stacks import HOSTILE, STACK_KINDS, build_stack, vocabulary, write_glove
from torch.utils.data import DataLoader

TEXTS_ALL = TEXTS + HOSTILE
MIN_COS = 0.99999


def _needs(kind: str) -> None:
    if kind == "phrase":
        pytest.importorskip("nltk")


@pytest.fixture(scope="session")
def stack_dir(tmp_path_factory):
    cache = {}

    def get(kind: str):
        _needs(kind)
        if kind not in cache:
            cache[kind] = build_stack(kind, tmp_path_factory.mktemp(kind) / "model")
        return cache[kind]

    return get


def _min_cos(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    both_zero = (na == 0) & (nb == 0)  # an empty text: ST gives a zero vector, and so must we
    cos = (a * b).sum(1) / np.maximum(na * nb, 1e-30)
    return float(np.where(both_zero, 1.0, cos).min())


def _encodings(model, texts, kind):
    """(plain, query, document) encodings; the last two only for a Router."""
    if kind != "router":
        return (model.encode(texts, batch_size=4),)
    return model.encode_query(texts, batch_size=4), model.encode_document(texts, batch_size=4)


@pytest.mark.parametrize("kind", STACK_KINDS)
def test_st_save_loads_and_round_trips(kind, stack_dir, tmp_path):
    src = stack_dir(kind)
    theirs = st.SentenceTransformer(str(src), device="cpu").eval()
    ours = SentenceEncoder(src, device="cpu").eval()
    expected = _encodings(theirs, TEXTS_ALL, kind)
    got = _encodings(ours, TEXTS_ALL, kind)
    for e, g in zip(expected, got):
        assert e.shape == g.shape
        assert _min_cos(e, g) >= MIN_COS
    if kind == "router":  # the two routes are different models
        assert _min_cos(got[0], got[1]) < 0.99
    ours.save(tmp_path / "ours")
    back = st.SentenceTransformer(str(tmp_path / "ours"), device="cpu").eval()
    for e, g in zip(expected, _encodings(back, TEXTS_ALL, kind)):
        assert _min_cos(e, g) >= MIN_COS


@pytest.mark.parametrize("kind", ["cnn", "phrase"])
def test_word_tokenizer_ids_match(kind, stack_dir):
    _needs(kind)
    src = stack_dir(kind)
    theirs = st.SentenceTransformer(str(src), device="cpu")[0].tokenizer
    ours = SentenceEncoder(src, device="cpu")[0].tokenizer
    for text in TEXTS_ALL:
        assert ours.tokenize(text) == theirs.tokenize(text), text


def test_stop_words_and_from_text_file(tmp_path):
    from sentence_transformers.sentence_transformer.modules import WordEmbeddings as StWE
    from sentence_transformers.sentence_transformer.modules.tokenizer.word import ENGLISH_STOP_WORDS

    assert set(models.ENGLISH_STOP_WORDS) == set(ENGLISH_STOP_WORDS)
    # A word2vec file: a "count dim" header, gzipped, one malformed line.
    plain = write_glove(tmp_path / "v.txt", vocabulary()[:50], dim=6)
    lines = plain.read_text().splitlines()
    lines.insert(10, "broken 1.0 2.0")
    w2v = tmp_path / "v.w2v.gz"
    with gzip.open(w2v, "wt", encoding="utf-8") as fh:
        fh.write(f"{len(lines)} 6\n" + "\n".join(lines) + "\n")
    ours = models.WordEmbeddings.from_text_file(w2v, max_vocab_size=30)
    theirs = StWE.from_text_file(str(w2v), max_vocab_size=30)
    assert ours.tokenizer.get_vocab() == theirs.tokenizer.get_vocab()
    torch.testing.assert_close(ours.emb_layer.weight, theirs.emb_layer.weight.float())


def test_model2vec_directory(tmp_path):
    """A model2vec directory (embeddings + token mapping + weights) reads as sentence-transformers
    reads it."""
    from safetensors.numpy import save_file
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding as StStatic
    from tiny_models import tiny_tokenizer

    tok = tiny_tokenizer("bert")
    vocab = len(tok)
    rng = np.random.default_rng(0)
    m2v = tmp_path / "m2v"
    m2v.mkdir()
    save_file(
        {
            "embeddings": rng.normal(size=(vocab // 2, 8)).astype(np.float32),
            "mapping": (np.arange(vocab) % (vocab // 2)).astype(np.int64),
            "weights": rng.uniform(0.5, 2, size=vocab).astype(np.float32),
        },
        str(m2v / "model.safetensors"),
    )
    tok.backend_tokenizer.save(str(m2v / "tokenizer.json"))
    (m2v / "config.json").write_text(json.dumps({"model_type": "model2vec", "normalize": False}))
    ours = SentenceEncoder(modules=[models.StaticEmbedding.from_model2vec(m2v)], device="cpu")
    theirs = st.SentenceTransformer(modules=[StStatic.load(str(m2v))], device="cpu")
    assert _min_cos(ours.encode(TEXTS_ALL), theirs.encode(TEXTS_ALL)) >= MIN_COS


def test_bad_directories_name_the_file(stack_dir, tmp_path):
    src = stack_dir("cnn")
    # An unknown module class.
    bad = shutil.copytree(src, tmp_path / "unknown")
    entries = json.loads((bad / "modules.json").read_text())
    entries[1]["type"] = "my_package.FancyConv"
    (bad / "modules.json").write_text(json.dumps(entries))
    with pytest.raises(UnsupportedModelError, match=r"modules\.json.*FancyConv"):
        SentenceEncoder(bad, device="cpu")
    # A missing config file.
    bad = shutil.copytree(src, tmp_path / "noconfig")
    (bad / "1_CNN" / "cnn_config.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"1_CNN.*cnn_config\.json"):
        SentenceEncoder(bad, device="cpu")
    # A vocabulary one word longer than the embedding table.
    bad = shutil.copytree(src, tmp_path / "vocab")
    cfg_file = bad / "whitespacetokenizer_config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["vocab"].append("extra_word")
    cfg_file.write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=r"model\.safetensors.*whitespacetokenizer_config\.json"):
        SentenceEncoder(bad, device="cpu")
    # A static table that does not match tokenizer.json.
    static = stack_dir("static_dense")
    bad = shutil.copytree(static, tmp_path / "static")
    from safetensors.torch import load_file, save_file

    state = load_file(str(bad / "model.safetensors"))
    save_file({k: v[:-3].contiguous() for k, v in state.items()}, str(bad / "model.safetensors"))
    with pytest.raises(ValueError, match=r"model\.safetensors.*tokenizer\.json"):
        SentenceEncoder(bad, device="cpu")


@pytest.mark.parametrize("kind", ["lstm", "bow", "static_dense", "layer_pooling", "router"])
def test_fit_changes_the_weights(kind, stack_dir):
    model = SentenceEncoder(stack_dir(kind), device="cpu")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pairs = [
        InputExample(texts=[TEXTS[i], TEXTS[(i + 1) % len(TEXTS)]], label=(i % 5) / 4)
        for i in range(len(TEXTS))
    ]
    model.fit(
        [(DataLoader(pairs, batch_size=4, shuffle=True), losses.CoSENTLoss(model))],
        router_mapping=["query", "document"] if kind == "router" else None,
        epochs=1,
        warmup_steps=0,
        optimizer_params={"lr": 1e-2},
        show_progress_bar=False,
        seed=3,
    )
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed, "training changed no weight"
    if kind == "router":  # the query column trained the query route, the other the document route
        for route in ("query", "document"):
            assert any(f"sub_modules.{route}." in k for k in changed), route
    assert np.isfinite(model.encode(TEXTS)).all()
