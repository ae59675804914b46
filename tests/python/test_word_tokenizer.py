"""Word-tokenizer models (WordEmbeddings / BoW input) at inference: the native
WhitespaceTokenizer and PhraseTokenizer give sentence-transformers' ids, hostile text
included, and an exported
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
    pytest.importorskip("regex")  # the generator reads NLTK's regex engine
    fresh = tmp_path / "python_text_tables.cpp"
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "gen_python_text_tables.py"),
                    str(fresh)], check=True)
    committed = (REPO_ROOT / "csrc" / "tokenizer" / "python_text_tables.cpp").read_text()
    if f"Unicode {__import__('unicodedata').unidata_version}" not in committed:
        pytest.skip("this Python has another Unicode version than the committed tables")
    # The regex package's version is stamped in the file for the reader; a release that
    # leaves its character classes alone must not fail the check, so the stamp is not compared.
    assert _without_regex_stamp(fresh.read_text()) == _without_regex_stamp(committed)


def _without_regex_stamp(text):
    return "".join(line for line in text.splitlines(keepends=True)
                   if not line.startswith("// The regex package "))


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


PHRASE_HOSTILE = [
    "",
    "   \t\n ",
    "He said, \"It's fine\" -- and left...",
    "\"Start quote ``Quoted'' and 'single' «guillemets» „low“ ‘curly’ “double” ‛odd′",
    "I can't, won't, shouldn't; you're gonna wanna gimme lemme gotta 'tis 'Twas d'ye more'n CANNOT",
    "gİmme gımme GONNA Gotta lemme wanna\twanna. wannabe cannotx d'yE MORE'N ca\u212anot",
    "²cannot cannot\u0301 \u203fgonna \u200dgotta 'ſ 'Ső 'ſtay x\u0301'm \u00b2's",
    "O'Neil's 'n' rock'n'roll o'clock ma'am we'll THEY'RE I'd I'M 'S ' ",
    "Wait... what?! (Really) [yes] {no} <maybe> -- fine--ok --- . . ..",
    "Visit https://example.com/a?b=1,c=2&d=%20 or me@example.org #tag $5.00 50% *star*",
    "1,000,000 and 3.14 and 12:30, 1:2 ratio: x,y 1,a",
    "Ünïcödé café naïve straße İstanbul ΣΑΣ ٣,٤ ²,³ ½ 中文，标点。 ſ'ſ K'K",
    "emoji 🤗🚀 👩\u200d👩\u200d👧 ✨word✨ \u2012figure\u2013en\u2014em\u2015bar",
    "New York is big. new york city ice cream, State of the Art; NEW YORK CITY",
    "the end.", "end. ) ' \"  ", "ends with comma,", "colon:\n", "a. b. c.\n", "x\x1c.\x1f",
    "It ’s ’ quote’s end’ ’tis” »",
]
# Characters and pieces that reach every branch of NLTK's substitutions.
FUZZ_POOL = list("aAcdDeilmMnNorRsStTvVwyYk  ''''\"\"``..,,::;!?-()[]{}<>*@#$%&_/0123456789"
                 "\n\t\r\x0b\x1c\x85\xa0«»“”‘’„‛′\u017f\u0130\u0131\u212aé٣²½中🤗\u200b\u2028"
                 "\u3000\u2012\u2015") + [
    "n't", "N'T", "'s", "'ll", "'RE", "can", "not", "gon", "na", "wan", "'t", "is", "was",
    "'ye", "more", "'n", "...", "--", "''", "http://x.com/a?b=c,d", "1,000", "3.5", "New", "York"]
PHRASES = ["New_York", "new_york_city", "state_of_the_art", "ice_cream"]


def _fuzz_texts(count: int) -> list[str]:
    rng = np.random.default_rng(7)
    return ["".join(FUZZ_POOL[i] for i in rng.integers(0, len(FUZZ_POOL), rng.integers(0, 30)))
            for _ in range(count)]


def _phrase_vocab(texts: list[str]) -> list[str]:
    """Every other NLTK word of `texts` (so both hits and misses), lowercased and stripped
    forms, and phrases of 2-4 consecutive words, some lowercased."""
    from nltk import word_tokenize

    vocab: dict[str, None] = {}
    for n, text in enumerate(texts):
        words = word_tokenize(text, preserve_line=True)
        for i, w in enumerate(words):
            if (i + n) % 2 == 0:
                vocab.setdefault(w, None)
            if i % 3 == 0:
                vocab.setdefault(w.lower().strip("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"), None)
            if i % 5 == 0 and i + 2 <= len(words):
                phrase = "_".join(words[i:i + 2 + (i + n) % 3])
                vocab.setdefault(phrase.lower() if n % 2 else phrase, None)
    vocab.update(dict.fromkeys(PHRASES))
    return list(vocab)  # no repeats: the saved config keeps one of each


@pytest.mark.parametrize("lower", [False, True])
def test_phrase_tokenizer_matches_sentence_transformers(tmp_path, lower):
    """The native PhraseTokenizer (NLTK's word splitting, phrases, stop words) gives
    sentence-transformers' ids on hostile text and on random strings built to reach every
    substitution of NLTK's tokenizer."""
    pytest.importorskip("nltk")
    from sentence_transformers.sentence_transformer.modules.tokenizer import PhraseTokenizer

    texts = PHRASE_HOSTILE + _texts()[:100] + _fuzz_texts(3000)
    vocab = _phrase_vocab(texts)
    tokenizer = PhraseTokenizer(vocab=vocab, stop_words=["the", "of", "'s", "is", "new_york"],
                                do_lower_case=lower, max_ngram_length=3 if lower else 5)
    out, _ = _exported(tmp_path, tokenizer, None, kind="phrase")
    enc = fastsbert.Encoder(out, threads=2)
    assert enc.native_tokenizer
    ids, offsets = enc.tokenize(texts)
    expected = [tokenizer.tokenize(t) for t in texts]
    assert sum(map(len, expected)) > 5000
    # a four-word phrase merges only when max_ngram_length allows it
    assert any(vocab.index("state_of_the_art") in e for e in expected) != lower
    for i, text in enumerate(texts):
        assert ids[offsets[i]:offsets[i + 1]].tolist() == expected[i], text


def test_phrase_model_matches_sentence_transformers(tmp_path):
    """A PhraseTokenizer model encodes natively (nltk is not needed at run time): ids and
    vectors equal sentence-transformers' WordEmbeddings + Pooling."""
    pytest.importorskip("nltk")
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, WordEmbeddings
    from sentence_transformers.sentence_transformer.modules.tokenizer import PhraseTokenizer

    from fastsbert import _core

    vocab = list(dict.fromkeys(_vocab() + PHRASES))
    tokenizer = PhraseTokenizer(vocab=vocab, do_lower_case=True)
    out, table = _exported(tmp_path, tokenizer, 7, kind="phrase")
    assert _core.Encoder(str(out)).has_tokenizer
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enc = fastsbert.Encoder(out, threads=1)
    texts = _texts()[:60] + PHRASE_HOSTILE + ["I love New York and new york city ice cream!"]
    ids, offsets = enc.tokenize(texts)
    expected_ids = [tokenizer.tokenize(t)[:7] for t in texts]
    assert [ids[offsets[i]:offsets[i + 1]].tolist() for i in range(len(texts))] == expected_ids
    assert vocab.index("New_York") in expected_ids[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SentenceTransformer(
            modules=[WordEmbeddings(tokenizer, table, max_seq_length=7), Pooling(DIM, "mean")],
            device="cpu")
    np.testing.assert_allclose(enc.encode(texts), ref.encode(texts), rtol=1e-5, atol=1e-6)


def test_bad_phrase_tokenizer_config(tmp_path):
    pytest.importorskip("nltk")
    from sentence_transformers.sentence_transformer.modules.tokenizer import PhraseTokenizer

    from fastsbert import _core

    out, _ = _exported(tmp_path, PhraseTokenizer(vocab=["a_b"]), None, kind="phrase")
    path = out / "phrasetokenizer_config.json"
    config = json.loads(path.read_text())
    for key, value in (("max_ngram_length", "5"), ("ngram_separator", 3)):
        path.write_text(json.dumps({**config, key: value}))
        with pytest.raises(ValueError, match=rf"corrupt .*phrasetokenizer_config\.json.*{key}"):
            _core.Encoder(str(out))
