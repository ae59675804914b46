"""Export of module stacks that do not start with a Hugging Face Transformer, and of Router
routes: what the exported directory holds besides the graph.

Every stack is one graph with inputs ``input_ids`` and ``attention_mask`` (int64, batch x seq)
and the output ``sentence_embedding`` (batch, dim); the modules after the input module (CNN,
LSTM as ONNX's LSTM operator with sequence lengths, WordWeights, Pooling, Dense, LayerNorm,
Normalize...) are traced into it. What differs is how texts become ids:

WordEmbeddings (WhitespaceTokenizer / PhraseTokenizer) and BoW
    the tokenizer's config file as sentence-transformers saves it
    (``whitespacetokenizer_config.json`` / ``phrasetokenizer_config.json``), named in
    fastsbert.json by ``"word_tokenizer": {"type": "whitespace" | "phrase", "file": ...}``;
    no tokenizer.json. Ids are the word indices padded with 0; ``max_seq_length`` is the
    WordEmbeddings truncation (null for BoW, which has none).
StaticEmbedding
    its ``tokenizer.json`` without padding and without a post-processor, so that the
    special tokens are never added (sentence-transformers encodes with
    ``add_special_tokens=False``); ``"add_special_tokens": false`` says so in fastsbert.json.
    ``max_seq_length`` is the tokenizer's own truncation, null when it has none.
Router
    one route per export: ``export(..., route="query")`` flattens that route's modules
    (and the modules after the Router) into a plain stack; fastsbert.json records
    ``"route"``. A query/document model is exported twice, once per route.

Needs torch (imported by the callers); importing this module costs nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .training.errors import UnsupportedModelError

_WORD_TOKENIZER_TYPES = {"WhitespaceTokenizer": "whitespace", "PhraseTokenizer": "phrase"}


@dataclass
class InputSpec:
    """How the exported graph is fed: its inputs, padding id, id range (for tracing
    samples), truncation, and the fastsbert.json keys that describe the tokenizer."""

    input_names: list[str]
    pad_token_id: int
    vocab_size: int
    max_seq_length: int | None
    architecture: str
    meta: dict[str, Any] = field(default_factory=dict)


def select_route(stack: list, route: str | None, src: Path) -> tuple[list, str | None]:
    """``stack`` with a leading Router replaced by the modules of the route ``route`` picks
    (a task name such as ``query`` or ``document``; None: the Router's default route), and
    that route's name. A stack without a Router is returned as it is (``route`` must be
    None then)."""
    from .training.models import Router

    if not stack or not isinstance(stack[0], Router):
        if route is not None:
            raise ValueError(f"{src}: route={route!r} given but the model has no Router")
        return stack, None
    router = stack[0]
    try:
        name = router.resolve_route(route)
    except ValueError as exc:
        raise ValueError(f"{src}: {exc}") from None
    flat = [*router.sub_modules[name], *stack[1:]]
    if isinstance(flat[0], Router):
        raise UnsupportedModelError(f"{src}: a Router inside a Router route is not supported")
    return flat, name


def prepare_inputs(model, out: Path, max_seq_length: int | None) -> InputSpec:
    """Writes the tokenizer files of ``model``'s input module (not a Transformer) into
    ``out`` and says how the graph is fed."""
    from .training import models

    first = model[0]
    if isinstance(first, (models.WordEmbeddings, models.BoW)):
        tokenizer = first.tokenizer
        kind = _WORD_TOKENIZER_TYPES.get(type(tokenizer).__name__)
        if kind is None:
            raise UnsupportedModelError(
                f"cannot export the word tokenizer {type(tokenizer).__name__}"
            )
        tokenizer.save(out)
        limit = first.max_seq_length if isinstance(first, models.WordEmbeddings) else None
        if max_seq_length is not None:
            limit = max_seq_length if limit is None else min(limit, max_seq_length)
        return InputSpec(
            input_names=["input_ids", "attention_mask"],
            pad_token_id=0,
            vocab_size=len(tokenizer.get_vocab()),
            max_seq_length=limit,
            architecture=type(first).__name__,
            meta={"word_tokenizer": {"type": kind, "file": tokenizer.CONFIG_NAME}},
        )
    if isinstance(first, models.StaticEmbedding):
        backend = _static_tokenizer(first.tokenizer, max_seq_length)
        backend.save(str(out / "tokenizer.json"))
        truncation = backend.truncation
        return InputSpec(
            input_names=["input_ids", "attention_mask"],
            pad_token_id=0,
            vocab_size=first.num_embeddings,
            max_seq_length=int(truncation["max_length"]) if truncation else None,
            architecture="StaticEmbedding",
            meta={"add_special_tokens": False},
        )
    raise UnsupportedModelError(f"cannot export a model that starts with {type(first).__name__}")


def _static_tokenizer(tokenizer, max_seq_length: int | None):
    """A copy of a StaticEmbedding's tokenizer that, encoding with special tokens, gives the
    ids sentence-transformers gets without them: no post-processor, no padding."""
    from tokenizers import Tokenizer

    data = json.loads(tokenizer.to_str())
    data["post_processor"] = None
    data["padding"] = None
    backend = Tokenizer.from_str(json.dumps(data))
    if max_seq_length is not None:
        backend.enable_truncation(
            max_seq_length, stride=0, strategy="longest_first", direction="right"
        )
    return backend


def pooling_name(model) -> str:
    """fastsbert.json's ``pooling``: the Pooling modes, else what the input module does."""
    from .training import models

    pooling = next((m for m in model if isinstance(m, models.Pooling)), None)
    if pooling is not None:
        return "+".join(pooling.modes)
    if isinstance(model[0], models.StaticEmbedding):
        return "mean"
    return "none"  # BoW: the term counts are the embedding
