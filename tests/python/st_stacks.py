"""Tiny sentence-transformers models of every module kind, built by sentence-transformers itself
with random weights and vocabularies taken from ../shared/data; no download.

``build_stack(kind, out_dir)`` writes the model with ``SentenceTransformer.save`` and returns
its directory. Kinds: see ``STACK_KINDS``.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

from tiny_models import HIDDEN, hf_dir_of, make_tiny_st_model, tiny_tokenizer, training_text

WORD_DIM = 16
# Stacks that start with a word tokenizer, exported with "word_tokenizer" in fastsbert.json.
WORD_KINDS = ("cnn", "lstm", "word_weights", "phrase", "bow")
# Stacks whose ids come from a tokenizer.json.
TOKENIZER_JSON_KINDS = ("static_dense", "layer_pooling", "transformer_cnn", "router")
STACK_KINDS = WORD_KINDS + TOKENIZER_JSON_KINDS

# Texts that exercise the word tokenizers: case, punctuation, stop words, phrases, unknown
# words, white space runs, an empty text.
HOSTILE = [
    "The New York Times said: 'stocks FELL!'",
    "new york city is in New   York state...",
    "",
    "   ",
    "???",
    "A man (in a red hat) is playing a guitar; the woman sings.",
    "Zzyzx qwertyuiop",
    "Los Angeles and San Francisco, California.",
    "tabs\tand\nnew lines, non\u00a0breaking\u2003spaces",
    "Café naïve RÉSUMÉ straße İstanbul",
    "emoji 🎉 party!!! -- \"quoted\" (nested [brackets])",
    "New_York written with its separator; new york",
]


@cache
def vocabulary(size: int = 400) -> tuple[str, ...]:
    """The most frequent words of the shared data (as split by white space, punctuation
    stripped), original case and lowercase forms, plus a few two- and three-word phrases."""
    counts: Counter[str] = Counter()
    for text in training_text(limit=1500):
        counts.update(w.strip(".,;:!?\"'()") for w in text.split())
    words = [w for w, _ in counts.most_common(size) if w]
    phrases = ["New_York", "new_york", "San_Francisco", "Los_Angeles", "New_York_City", "red_hat"]
    return tuple(dict.fromkeys(words + phrases))


def idf_weights() -> dict[str, float]:
    """word -> a deterministic pseudo-idf for part of the vocabulary (the rest is unknown)."""
    return {w: 1.0 + (i % 7) / 3 for i, w in enumerate(vocabulary()) if i % 3}


def write_glove(path: Path, words, dim: int = WORD_DIM, seed: int = 0) -> Path:
    """A GloVe-style text file (``word v1 ... vdim``) with random vectors."""
    import numpy as np

    rng = np.random.default_rng(seed)
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(
            w + " " + " ".join(f"{x:.5f}" for x in rng.normal(size=dim)) + "\n" for w in words
        )
    return path


def _word_embeddings(tmp: Path, tokenizer):
    from sentence_transformers.sentence_transformer.modules import WordEmbeddings

    glove = write_glove(tmp / "vectors.txt", vocabulary())
    return WordEmbeddings.from_text_file(str(glove), tokenizer=tokenizer)


def _static(seed: int):
    import torch
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    tok = tiny_tokenizer("bert")
    torch.manual_seed(seed)
    return StaticEmbedding(tok, embedding_dim=HIDDEN)


def _transformer_dir(tmp: Path, *, hidden_states: bool) -> Path:
    st = make_tiny_st_model("bert", "mean", tmp / "base")
    hf = hf_dir_of(st)
    if hidden_states:
        import json

        cfg = json.loads((hf / "config.json").read_text())
        cfg["output_hidden_states"] = True
        (hf / "config.json").write_text(json.dumps(cfg))
    return hf


def build_stack(kind: str, out_dir: str | Path, seed: int = 0) -> Path:
    """Writes a tiny sentence-transformers model of ``kind`` into ``out_dir``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules as M

    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + "-parts")
    tmp.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    if kind == "cnn":
        emb = _word_embeddings(tmp, M.tokenizer.WhitespaceTokenizer(do_lower_case=True))
        cnn = M.CNN(WORD_DIM, out_channels=8, kernel_sizes=[1, 3, 5])
        stack = [emb, cnn, M.Pooling(cnn.get_embedding_dimension(), "mean")]
    elif kind == "lstm":
        emb = _word_embeddings(tmp, M.tokenizer.WhitespaceTokenizer())
        emb.max_seq_length = 12
        lstm = M.LSTM(WORD_DIM, hidden_dim=8, num_layers=2, bidirectional=True)
        stack = [emb, lstm, M.Pooling(lstm.get_embedding_dimension(), "mean")]
    elif kind == "word_weights":
        emb = _word_embeddings(tmp, M.tokenizer.WhitespaceTokenizer(stop_words=["the", "a", "is"]))
        weights = M.WordWeights(emb.tokenizer.get_vocab(), idf_weights(), 0.5)
        dense = M.Dense(WORD_DIM, 12, activation_function=torch.nn.Tanh())
        stack = [
            emb,
            weights,
            M.Pooling(WORD_DIM, "mean"),
            dense,
            M.LayerNorm(12),
            M.Dropout(0.1),
            M.Normalize(),
        ]
    elif kind == "phrase":
        emb = _word_embeddings(tmp, M.tokenizer.PhraseTokenizer(max_ngram_length=3))
        stack = [emb, M.Pooling(WORD_DIM, "mean_sqrt_len_tokens")]
    elif kind == "bow":
        bow = M.BoW(list(vocabulary()), idf_weights(), unknown_word_weight=0.25)
        stack = [
            bow,
            M.Dense(bow.get_embedding_dimension(), 12, activation_function=torch.nn.Tanh()),
        ]
    elif kind == "static_dense":
        static = _static(seed)
        stack = [static, M.Dense(HIDDEN, 12, activation_function=torch.nn.Tanh()), M.Normalize()]
    elif kind == "layer_pooling":
        transformer = M.Transformer(
            str(_transformer_dir(tmp, hidden_states=True)), max_seq_length=48
        )
        wlp = M.WeightedLayerPooling(HIDDEN, num_hidden_layers=2, layer_start=1)
        with torch.no_grad():
            wlp.layer_weights.copy_(torch.tensor([0.5, 2.0]))
        stack = [transformer, wlp, M.Pooling(HIDDEN, "mean"), M.LayerNorm(HIDDEN)]
    elif kind == "transformer_cnn":
        transformer = M.Transformer(
            str(_transformer_dir(tmp, hidden_states=False)), max_seq_length=48
        )
        cnn = M.CNN(HIDDEN, out_channels=8, kernel_sizes=[3])
        stack = [
            transformer,
            cnn,
            M.Pooling(8, "mean"),
            M.Dense(8, 6, activation_function=torch.nn.Tanh()),
        ]
    elif kind == "router":
        transformer = M.Transformer(
            str(_transformer_dir(tmp, hidden_states=False)), max_seq_length=48
        )
        router = M.Router.for_query_document(
            query_modules=[_static(seed + 1)],
            document_modules=[transformer, M.Pooling(HIDDEN, "mean")],
        )
        stack = [router, M.Normalize()]
    else:
        raise ValueError(f"unknown stack kind {kind!r}")
    SentenceTransformer(modules=stack, device="cpu").save(str(out_dir))
    return out_dir
