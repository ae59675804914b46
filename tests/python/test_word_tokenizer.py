"""Word-tokenizer models (WordEmbeddings / BoW input) at inference: the native
WhitespaceTokenizer gives sentence-transformers' ids, hostile text included, and an exported
directory (tokenizer config + ONNX graph + fastsbert.json "word_tokenizer") encodes as
sentence-transformers' WordEmbeddings + Pooling does."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import fastsbert

from tiny_models import training_text

REPO_ROOT = Path(__file__).resolve().parents[2]
DIM = 16
SPACES = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF and chr(c).isspace()]
HOSTILE = [
    "",
    "   ",
    "!!! ... ???",
    "The THE the Café CAFÉ café, «café» “Café”!",
    "ΟΔΟΣ. ΣΑΣ Σ ΌΣΟΣ’ ΑΣ.Β οδος σας",
    "İstanbul ǅemal ß STRASSE Straße ŉ ﬁne",
    "emoji 🤗🚀 👩‍👩‍👧 ✨word✨ (word) [word] {word} 'word' \"word\"",
    "中文 字符 العربية हिन्दी",
    "zero\u200bwidth nb\u00a0sp " + "x".join(SPACES) + " tail",
    "---dashes--- __under__ word's words' o'clock",
    "I am not a stop word but this is",
]


def _texts() -> list[str]:
    return list(training_text()[:200]) + HOSTILE


def _vocab() -> list[str]:
    words: dict[str, None] = {}
    for text in _texts():
        for w in text.split():
            for v in (w, w.lower(), w.strip("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")):
                words.setdefault(v, None)
    words.setdefault("", None)  # an empty entry: reached by a word of punctuation only
    return list(words)[:: 1 if len(words) < 3000 else 2]


def _whitespace_tokenizer(lower: bool):
    from sentence_transformers.sentence_transformer.modules.tokenizer import WhitespaceTokenizer

    return WhitespaceTokenizer(vocab=_vocab(), do_lower_case=lower)


def _mean_graph(table: np.ndarray, path: Path) -> None:
    """ONNX graph: Gather rows of `table` by input_ids, mean over attention_mask."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["tok"]),
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["maskf", "last"], ["mask3"]),
        helper.make_node("Mul", ["tok", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "one"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "one"], ["count"], keepdims=0),
        helper.make_node("Max", ["count", "eps"], ["safe"]),
        helper.make_node("Div", ["summed", "safe"], ["sentence_embedding"]),
    ]
    graph = helper.make_graph(
        nodes, "word_mean",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", DIM])],
        initializer=[numpy_helper.from_array(table, "table"),
                     numpy_helper.from_array(np.array([-1], np.int64), "last"),
                     numpy_helper.from_array(np.array([1], np.int64), "one"),
                     numpy_helper.from_array(np.array([1e-9], np.float32), "eps")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def _exported(tmp_path: Path, tokenizer, max_seq_length: int | None, kind: str = "whitespace"):
    out = tmp_path / f"{kind}-{tokenizer.do_lower_case}-{max_seq_length}"
    out.mkdir()
    tokenizer.save(str(out))
    table = np.random.default_rng(3).standard_normal((len(tokenizer.vocab), DIM)).astype(np.float32)
    _mean_graph(table, out / "model.onnx")
    config = {"dim": DIM, "pooling": "mean", "normalize": False, "pad_token_id": 0,
              "inputs": ["input_ids", "attention_mask"],
              "word_tokenizer": {"type": kind, "file": f"{kind}tokenizer_config.json"}}
    if max_seq_length is not None:
        config["max_seq_length"] = max_seq_length
    (out / "fastsbert.json").write_text(json.dumps(config))
    return out, table


def test_python_text_tables_are_fresh(tmp_path):
    fresh = tmp_path / "python_text_tables.cpp"
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "gen_python_text_tables.py"),
                    str(fresh)], check=True)
    committed = (REPO_ROOT / "csrc" / "tokenizer" / "python_text_tables.cpp").read_text()
    if f"Unicode {__import__('unicodedata').unidata_version}" not in committed:
        pytest.skip("this Python has another Unicode version than the committed tables")
    assert fresh.read_text() == committed


@pytest.mark.parametrize("lower,max_seq_length", [(False, None), (True, 5)])
def test_whitespace_model_matches_sentence_transformers(tmp_path, lower, max_seq_length):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, WordEmbeddings

    tokenizer = _whitespace_tokenizer(lower)
    out, table = _exported(tmp_path, tokenizer, max_seq_length)
    texts = _texts()
    enc = fastsbert.Encoder(out, threads=2)
    assert enc.native_tokenizer
    limit = max_seq_length or 10**9
    ids, offsets = enc.tokenize(texts)
    ours = [ids[offsets[i]:offsets[i + 1]].tolist() for i in range(len(texts))]
    assert ours == [tokenizer.tokenize(t)[:limit] for t in texts]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        we = WordEmbeddings(tokenizer, table, max_seq_length=limit)
        ref = SentenceTransformer(modules=[we, Pooling(DIM, "mean")], device="cpu")
    expected = ref.encode(texts, convert_to_numpy=True)
    got = enc.encode(texts)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    nonzero = np.linalg.norm(expected, axis=1) > 0
    cos = (got * expected).sum(1)[nonzero] / (
        np.linalg.norm(got, axis=1) * np.linalg.norm(expected, axis=1))[nonzero]
    assert cos.min() >= 0.99999


def test_hostile_text_ids(tmp_path):
    """Every Python whitespace character splits; lowercasing follows str.lower() (final
    sigma, İ, titlecase) on a wide sample of code points."""
    rng = np.random.default_rng(0)
    pool = [c for c in rng.integers(0x20, 0x30000, 4000) if not 0xD800 <= c <= 0xDFFF]
    words = ["".join(chr(c) for c in pool[i:i + 3]) + "Σ" for i in range(0, len(pool), 3)]
    texts = [" ".join(words[i:i + 40]) + rng.choice(SPACES) + "ΑΣ." for i in range(0, len(words), 40)]
    from sentence_transformers.sentence_transformer.modules.tokenizer import WhitespaceTokenizer

    for lower in (False, True):
        vocab = sorted({v for t in texts for w in t.split() for v in (w.lower(), w)})[::2]
        tok = WhitespaceTokenizer(vocab=vocab, stop_words=["ασ."], do_lower_case=lower)
        out, _ = _exported(tmp_path, tok, None)
        enc = fastsbert.Encoder(out, threads=1)
        ids, offsets = enc.tokenize(texts)
        expected = [tok.tokenize(t) for t in texts]
        assert sum(map(len, expected)) > 500  # most words are found, not all dropped
        assert [ids[offsets[i]:offsets[i + 1]].tolist() for i in range(len(texts))] == expected


def test_bad_word_tokenizer_config(tmp_path):
    from fastsbert import _core

    out, _ = _exported(tmp_path, _whitespace_tokenizer(False), None)
    config = json.loads((out / "fastsbert.json").read_text())
    (out / "whitespacetokenizer_config.json").rename(out / "elsewhere.json")
    with pytest.raises(FileNotFoundError, match=r"whitespacetokenizer_config\.json"):
        _core.Encoder(str(out))
    (out / "elsewhere.json").rename(out / "whitespacetokenizer_config.json")
    config["word_tokenizer"]["type"] = "characters"
    (out / "fastsbert.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"word_tokenizer\.type"):
        _core.Encoder(str(out))
    config["word_tokenizer"]["type"] = "whitespace"
    (out / "fastsbert.json").write_text(json.dumps(config))
    (out / "whitespacetokenizer_config.json").write_text('{"vocab": [1, 2]}')
    with pytest.raises(ValueError, match=r"corrupt .*whitespacetokenizer_config\.json"):
        _core.Encoder(str(out))


def test_phrase_model_runs_through_sentence_transformers(tmp_path):
    """PhraseTokenizer (NLTK word splitting + n-gram phrases) is not native: Encoder warns
    and tokenizes with sentence-transformers' own class; ids and vectors match."""
    pytest.importorskip("nltk")
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, WordEmbeddings
    from sentence_transformers.sentence_transformer.modules.tokenizer import PhraseTokenizer

    from fastsbert import _core

    vocab = _vocab() + ["New_York", "new_york_city", "state_of_the_art", "ice_cream"]
    tokenizer = PhraseTokenizer(vocab=vocab, do_lower_case=True)
    out, table = _exported(tmp_path, tokenizer, None, kind="phrase")
    core = _core.Encoder(str(out))
    assert not core.has_tokenizer and "phrasetokenizer_config.json" in \
        core.tokenizer_unavailable_reason
    with pytest.warns(UserWarning, match="tokenizing with sentence-transformers"):
        enc = fastsbert.Encoder(out, threads=1)
    texts = _texts()[:60] + ["I love New York and new york city ice cream, state of the art!"]
    ids, offsets = enc.tokenize(texts)
    expected_ids = [tokenizer.tokenize(t) for t in texts]
    assert [ids[offsets[i]:offsets[i + 1]].tolist() for i in range(len(texts))] == expected_ids
    assert vocab.index("New_York") in expected_ids[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SentenceTransformer(modules=[WordEmbeddings(tokenizer, table), Pooling(DIM, "mean")],
                                  device="cpu")
    np.testing.assert_allclose(enc.encode(texts), ref.encode(texts), rtol=1e-5, atol=1e-6)
