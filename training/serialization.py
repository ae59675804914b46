"""Reading and writing the sentence-transformers directory layout.

A saved model directory holds::

    modules.json                      the module list (Transformer, Pooling, [Dense], [Normalize])
    config.json, model.safetensors    the Hugging Face encoder
    tokenizer.json, tokenizer_config.json, ...
    sentence_bert_config.json         max_seq_length, do_lower_case
    config_sentence_transformers.json similarity function, prompts, versions
    1_Pooling/config.json
    2_Dense/config.json, 2_Dense/model.safetensors      (optional)
    N_Normalize/                                        (optional)

Module types are written with their classic names (``sentence_transformers.models.X``),
which every sentence-transformers release since 2.x loads.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .dense import Dense
from .pooling import Pooling

_TYPE_PREFIX = "sentence_transformers.models."


@dataclass
class LoadedModules:
    """What a model directory describes, before it is wired into a ``SentenceEncoder``."""

    encoder: torch.nn.Module
    tokenizer: object
    pooling: Pooling
    dense: Dense | None = None
    normalize: bool = False
    max_seq_length: int | None = None
    do_lower_case: bool = False
    similarity_fn_name: str = "cosine"
    extra: dict = field(default_factory=dict)


def _read_json(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _write_json(path: Path, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)


def _load_encoder(path: Path):
    from transformers import AutoModel, AutoTokenizer

    encoder = AutoModel.from_pretrained(str(path))
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    return encoder, tokenizer


def _default_max_seq_length(encoder, tokenizer) -> int | None:
    limits = [
        getattr(encoder.config, "max_position_embeddings", None),
        getattr(tokenizer, "model_max_length", None),
    ]
    limits = [x for x in limits if isinstance(x, int) and 0 < x < 1_000_000]
    return min(limits) if limits else None


def load_directory(path: str | os.PathLike) -> LoadedModules:
    """Loads a sentence-transformers directory, or a plain Hugging Face encoder directory
    (which gets mean pooling and no normalisation)."""
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"No model directory at {root}")
    modules_file = root / "modules.json"
    if not modules_file.is_file():
        encoder, tokenizer = _load_encoder(root)
        pooling = Pooling(encoder.config.hidden_size, "mean")
        return LoadedModules(
            encoder, tokenizer, pooling, max_seq_length=_default_max_seq_length(encoder, tokenizer)
        )

    loaded: dict = {"normalize": False, "dense": None}
    for entry in _read_json(modules_file):
        kind = entry["type"].rsplit(".", 1)[-1]
        sub = root / entry.get("path", "")
        if kind == "Transformer":
            encoder, tokenizer = _load_encoder(sub)
            loaded["encoder"], loaded["tokenizer"] = encoder, tokenizer
            st_cfg = {}
            for name in ("sentence_bert_config.json", "sentence_xlnet_config.json"):
                if (sub / name).is_file():
                    st_cfg = _read_json(sub / name)
                    break
            loaded["max_seq_length"] = st_cfg.get("max_seq_length") or _default_max_seq_length(
                encoder, tokenizer
            )
            loaded["do_lower_case"] = bool(st_cfg.get("do_lower_case", False))
        elif kind == "Pooling":
            loaded["pooling"] = Pooling.from_config(_read_json(sub / "config.json"))
        elif kind == "Dense":
            dense = Dense.from_config(_read_json(sub / "config.json"))
            if (sub / "model.safetensors").is_file():
                state = load_file(str(sub / "model.safetensors"))
            else:
                state = torch.load(sub / "pytorch_model.bin", map_location="cpu", weights_only=True)
            dense.load_state_dict(state)
            if loaded["dense"] is not None:
                raise ValueError(f"{root}: more than one Dense module is not supported")
            loaded["dense"] = dense
        elif kind == "Normalize":
            loaded["normalize"] = True
        else:
            raise ValueError(
                f"{root}: module type {entry['type']!r} is not supported; "
                "supported are Transformer, Pooling, Dense and Normalize"
            )
    if "encoder" not in loaded or "pooling" not in loaded:
        raise ValueError(f"{root}/modules.json must list a Transformer and a Pooling module")
    sim = "cosine"
    if (root / "config_sentence_transformers.json").is_file():
        sim = (
            _read_json(root / "config_sentence_transformers.json").get("similarity_fn_name")
            or "cosine"
        )
    return LoadedModules(
        encoder=loaded["encoder"],
        tokenizer=loaded["tokenizer"],
        pooling=loaded["pooling"],
        dense=loaded["dense"],
        normalize=loaded["normalize"],
        max_seq_length=loaded.get("max_seq_length"),
        do_lower_case=loaded.get("do_lower_case", False),
        similarity_fn_name=sim,
    )


def save_directory(model, path: str | os.PathLike) -> None:
    """Writes ``model`` (a ``SentenceEncoder``) in the sentence-transformers layout."""
    import transformers

    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(str(root), safe_serialization=True)
    model.tokenizer.save_pretrained(str(root))
    _write_json(
        root / "sentence_bert_config.json",
        {"max_seq_length": model.max_seq_length, "do_lower_case": model.do_lower_case},
    )

    modules = [{"idx": 0, "name": "0", "path": "", "type": _TYPE_PREFIX + "Transformer"}]
    pooling_dir = root / "1_Pooling"
    pooling_dir.mkdir(exist_ok=True)
    _write_json(pooling_dir / "config.json", model.pooling.config())
    modules.append({"idx": 1, "name": "1", "path": "1_Pooling", "type": _TYPE_PREFIX + "Pooling"})
    if model.dense is not None:
        dense_dir = root / "2_Dense"
        dense_dir.mkdir(exist_ok=True)
        _write_json(dense_dir / "config.json", model.dense.config())
        state = {k: v.detach().cpu().contiguous() for k, v in model.dense.state_dict().items()}
        save_file(state, str(dense_dir / "model.safetensors"))
        modules.append({"idx": 2, "name": "2", "path": "2_Dense", "type": _TYPE_PREFIX + "Dense"})
    if model.normalize:
        idx = len(modules)
        (root / f"{idx}_Normalize").mkdir(exist_ok=True)
        modules.append(
            {
                "idx": idx,
                "name": str(idx),
                "path": f"{idx}_Normalize",
                "type": _TYPE_PREFIX + "Normalize",
            }
        )
    _write_json(root / "modules.json", modules)
    _write_json(
        root / "config_sentence_transformers.json",
        {
            "__version__": {"pytorch": torch.__version__, "transformers": transformers.__version__},
            "prompts": {},
            "default_prompt_name": None,
            "similarity_fn_name": model.similarity_fn_name,
        },
    )
