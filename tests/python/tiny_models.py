"""Tiny random sentence-transformers models, built offline for tests.

Each architecture gets a small tokenizer trained with the `tokenizers` library on text
from ../shared/data (WordPiece for BERT, DistilBERT and MPNet; byte-level BPE for
RoBERTa; Unigram + Metaspace for XLM-RoBERTa), a 2-layer random encoder with hidden size
32, and the sentence-transformers files written by sentence-transformers itself.
"""

from __future__ import annotations

import csv
import gzip
import json
from functools import lru_cache
from pathlib import Path

ARCHITECTURES = ("bert", "roberta", "distilbert", "mpnet", "xlm-roberta")
POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"
HIDDEN = 32
LAYERS = 2
HEADS = 4
VOCAB = 600
MAX_SEQ_LENGTH = 48  # short, so that truncation shows up in tests
DENSE_OUT = 24

_WORDPIECE_SPECIALS = {
    "bert": ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    "distilbert": ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    "mpnet": ["<s>", "<pad>", "</s>", "[UNK]", "<mask>"],
}
_SPM_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


@lru_cache(maxsize=None)
def training_text(data_dir: Path = DATA_DIR, limit: int = 4000) -> tuple[str, ...]:
    """Sentences to train the tokenizers on: STS-B train plus some of the corpus."""
    texts: list[str] = []
    with open(data_dir / "stsb" / "stsb-en-train.csv", newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            texts += row[:2]
    with gzip.open(data_dir / "corpus" / "sentences.tsv.gz", "rt", encoding="utf-8") as fh:
        next(fh)
        for i, line in enumerate(fh):
            if i >= limit:
                break
            texts.append(line.rstrip("\n").split("\t", 1)[-1])
    return tuple(texts)


@lru_cache(maxsize=None)
def tiny_tokenizer(arch: str, data_dir: Path = DATA_DIR):
    """A transformers tokenizer for `arch`, trained on local text (cached per session)."""
    from tokenizers import (
        SentencePieceUnigramTokenizer,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )

    texts = training_text(data_dir)
    if arch in _WORDPIECE_SPECIALS:
        specials = _WORDPIECE_SPECIALS[arch]
        tk = Tokenizer(models.WordPiece(unk_token=specials[1] if arch != "mpnet" else "[UNK]"))
        tk.normalizer = normalizers.BertNormalizer(lowercase=True)
        tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tk.decoder = decoders.WordPiece()
        tk.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=VOCAB, special_tokens=specials))
        vocab = tk.get_vocab()
        if arch == "bert":
            from transformers import BertTokenizer as cls
        elif arch == "distilbert":
            from transformers import DistilBertTokenizer as cls
        else:
            from transformers import MPNetTokenizer as cls
        return cls(vocab=vocab, do_lower_case=True)
    if arch == "roberta":
        from transformers import RobertaTokenizer

        tk = Tokenizer(models.BPE())
        tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tk.train_from_iterator(
            texts,
            trainers.BpeTrainer(
                vocab_size=VOCAB,
                special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            ),
        )
        state = json.loads(tk.to_str())["model"]
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in state["merges"]]
        return RobertaTokenizer(vocab=state["vocab"], merges=merges)
    if arch == "xlm-roberta":
        from transformers import XLMRobertaTokenizer

        tk = SentencePieceUnigramTokenizer()
        # Unigram training is the slow one: a few thousand sentences are plenty for 600 pieces.
        tk.train_from_iterator(texts[:3000], vocab_size=VOCAB, special_tokens=_SPM_SPECIALS,
                               unk_token="<unk>")
        pieces = [(p, float(s)) for p, s in json.loads(tk.to_str())["model"]["vocab"]]
        return XLMRobertaTokenizer(vocab=pieces)
    raise ValueError(f"unknown architecture {arch!r}; expected one of {ARCHITECTURES}")


def _config(arch: str, tok):
    import transformers

    common = dict(vocab_size=len(tok), pad_token_id=tok.pad_token_id)
    if arch == "distilbert":
        return transformers.DistilBertConfig(
            dim=HIDDEN, n_layers=LAYERS, n_heads=HEADS, hidden_dim=2 * HIDDEN,
            max_position_embeddings=64, **common,
        )
    sizes = dict(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                 intermediate_size=2 * HIDDEN)
    if arch == "bert":
        return transformers.BertConfig(max_position_embeddings=64, type_vocab_size=2, **sizes, **common)
    # These offset position ids by pad_token_id + 1.
    positions = 64 + tok.pad_token_id + 1
    if arch == "roberta":
        return transformers.RobertaConfig(max_position_embeddings=positions, type_vocab_size=1,
                                          bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                          **sizes, **common)
    if arch == "xlm-roberta":
        return transformers.XLMRobertaConfig(max_position_embeddings=positions, type_vocab_size=1,
                                             bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                             **sizes, **common)
    if arch == "mpnet":
        return transformers.MPNetConfig(max_position_embeddings=positions, **sizes, **common)
    raise ValueError(f"unknown architecture {arch!r}")


def hf_dir_of(st_dir: str | Path) -> Path:
    """The plain Hugging Face directory (encoder + tokenizer) written beside a tiny model."""
    st_dir = Path(st_dir)
    return st_dir.with_name(st_dir.name + "-hf")


def make_tiny_st_model(
    arch: str,
    pooling: str | tuple[str, ...],
    out_dir: str | Path,
    *,
    dense: bool = False,
    normalize: bool = False,
    seed: int = 0,
    max_seq_length: int = MAX_SEQ_LENGTH,
    prompts: dict[str, str] | None = None,
    data_dir: Path = DATA_DIR,
) -> Path:
    """Write a tiny random sentence-transformers model for `arch` into `out_dir`.

    The modules are Transformer -> Pooling(pooling) (-> Dense(dim -> 24, tanh)) (-> Normalize),
    saved by `SentenceTransformer(modules=...).save`.
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer
    from transformers import AutoModel

    out_dir = Path(out_dir)
    hf_dir = hf_dir_of(out_dir)
    tok = tiny_tokenizer(arch, data_dir)
    torch.manual_seed(seed)
    encoder = AutoModel.from_config(_config(arch, tok))
    # Random init gives near-identical token vectors; spread the weights so that pooling
    # modes (max vs mean, first vs last token) give clearly different results.
    with torch.no_grad():
        for p in encoder.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.2)
    encoder.save_pretrained(hf_dir)
    tok.save_pretrained(hf_dir)

    transformer = Transformer(str(hf_dir), max_seq_length=max_seq_length)
    modules = [transformer, Pooling(HIDDEN, pooling_mode=pooling)]
    if dense:
        torch.manual_seed(seed + 1)
        modules.append(Dense(modules[-1].get_embedding_dimension(), DENSE_OUT, activation_function=torch.nn.Tanh()))
    if normalize:
        modules.append(Normalize())
    model = SentenceTransformer(modules=modules, device="cpu", prompts=prompts)
    model.save(str(out_dir))
    return out_dir
