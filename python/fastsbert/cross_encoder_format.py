"""What every road that builds a cross-encoder's exported directory shares: where the
Hugging Face model of a source lives, which activation and length limit it gets, and the
``fastsbert.json`` it is written with.

Two roads write the directory :mod:`fastsbert.cross_encoder_export` describes: that
module traces the model with torch, :mod:`fastsbert.cross_encoder_graft` appends the
activation to a ready ``onnx/model.onnx`` with the ``onnx`` package. Both read the
source's settings through the functions here, so both give the same directory. Nothing
here imports torch.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from pathlib import Path

from .export_format import CONFIG_NAME, CROSS_ENCODER_KIND, FORMAT_VERSION
from .st_config import MODEL_CONFIG_NAME, saved_prompts

KIND = CROSS_ENCODER_KIND
OUTPUT_NAME = "scores"
# sentence-transformers' default activations, by the dotted names it saves.
SIGMOID = "torch.nn.modules.activation.Sigmoid"
IDENTITY = "torch.nn.modules.linear.Identity"
# transformers' tokenizers report "no limit" as a huge model_max_length.
_NO_LIMIT = 1e12


def transformer_dir(src: Path) -> Path:
    """Where the Hugging Face model of ``src`` lives: the path of the Transformer module
    of a sentence-transformers modules.json, else ``src`` itself."""
    modules = Path(src) / "modules.json"
    if modules.is_file():
        for entry in json.loads(modules.read_text("utf-8")):
            if str(entry.get("type", "")).endswith("Transformer"):
                return Path(src) / entry.get("path", "")
    return Path(src)


def saved_activation(src: Path, config: Mapping) -> str | None:
    """The dotted path of the activation sentence-transformers would restore from ``src``
    (its ``config_sentence_transformers.json``, else the Hugging Face ``config`` as a
    dict: ``sentence_transformers.activation_fn`` or the older
    ``sbert_ce_default_activation_function``), or None."""
    st_config = Path(src) / "config_sentence_transformers.json"
    if st_config.is_file():
        path = json.loads(st_config.read_text("utf-8")).get("activation_fn")
        if path:
            return path
    saved = config.get("sentence_transformers")
    if isinstance(saved, dict) and saved.get("activation_fn"):
        return saved["activation_fn"]
    return config.get("sbert_ce_default_activation_function")


def activation_name(src: Path, config: Mapping, num_labels: int) -> str:
    """The dotted name of the model's activation: the saved one when it is a torch class
    (others are not loaded, as sentence-transformers does without trust_remote_code: a
    warning, then the default), else sigmoid for one label and identity otherwise."""
    path = saved_activation(src, config)
    if path is not None and not path.startswith("torch."):
        warnings.warn(f"{src}: activation {path!r} is not a torch class and is not loaded "
                      "(as sentence-transformers does without trust_remote_code); using the "
                      "default", stacklevel=3)
        path = None
    if path is not None:
        return path
    return SIGMOID if num_labels == 1 else IDENTITY


def config_num_labels(config: Mapping, config_file: Path) -> int:
    """The number of labels transformers gives the Hugging Face ``config`` (as a dict):
    the size of ``id2label``, else ``num_labels``, else 2. ValueError naming
    ``config_file`` when the two disagree."""
    id2label, num_labels = config.get("id2label"), config.get("num_labels")
    if isinstance(id2label, dict) and id2label:
        if isinstance(num_labels, int) and num_labels != len(id2label):
            raise ValueError(f"{config_file}: num_labels={num_labels} but id2label has "
                             f"{len(id2label)} labels")
        return len(id2label)
    if isinstance(num_labels, int) and not isinstance(num_labels, bool) and num_labels > 0:
        return num_labels
    return 2


def max_seq_length(src: Path, model_max_length: int | float | None, capacity: int | None,
                   max_length: int | None) -> int:
    """sentence-transformers' limit for ``src``: sentence_bert_config.json's
    max_seq_length, else the tokenizer's ``model_max_length``; or ``max_length`` when
    given. Never past the position table (``capacity``): a ``max_length`` past it raises
    ValueError, a saved limit is cut to it."""
    if max_length is not None:
        if capacity is not None and max_length > capacity:
            raise ValueError(f"max_length={max_length} exceeds the {capacity} positions of {src}")
        return max_length
    seq_len = None
    st_file = Path(src) / "sentence_bert_config.json"
    if st_file.is_file():
        seq_len = json.loads(st_file.read_text("utf-8")).get("max_seq_length")
    if not seq_len:  # an absent model_max_length means no limit, as in transformers
        seq_len = model_max_length if model_max_length is not None else _NO_LIMIT
    if seq_len >= _NO_LIMIT and capacity is None:
        raise ValueError(f"{src}: no max_seq_length in sentence_bert_config.json, no "
                         "model_max_length in tokenizer_config.json and no "
                         "max_position_embeddings in config.json")
    if capacity is not None and seq_len > capacity:
        seq_len = capacity
    return int(seq_len)


def write_config(out: Path, *, num_labels: int, activation: str, max_seq_length: int,
                 pad_token_id: int, inputs: list[str], architecture: str, source: Path,
                 max_positions: int | None) -> dict:
    """Writes ``out/fastsbert.json`` of a cross-encoder and returns what it holds, with the
    prompts ``source`` saved (sentence-transformers prepends them to each pair's first text)."""
    prompts, default_prompt_name = saved_prompts(source)
    if default_prompt_name is not None and default_prompt_name not in prompts:
        raise ValueError(f"{Path(source) / MODEL_CONFIG_NAME}: default_prompt_name "
                         f"{default_prompt_name!r} is not one of the prompts {sorted(prompts)}")
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "num_labels": int(num_labels),
        "activation": activation,
        "dim": 2 * int(num_labels),
        "max_seq_length": int(max_seq_length),
        "pooling": "none",
        "normalize": False,
        "pad_token_id": int(pad_token_id),
        "inputs": list(inputs),
        "output": OUTPUT_NAME,
        "architecture": str(architecture),
        "source": str(source),
        "prompts": prompts,
        "default_prompt_name": default_prompt_name,
    }
    if max_positions is not None:
        meta["max_positions"] = int(max_positions)
    (out / CONFIG_NAME).write_text(json.dumps(meta, indent=2) + "\n", "utf-8")
    return meta
