"""Reading and writing the sentence-transformers directory layout.

A model directory holds::

    modules.json                       the module list, in order
    config.json, model.safetensors     the Hugging Face encoder (Transformer, in the root)
    tokenizer.json, tokenizer_config.json, ...
    sentence_bert_config.json          max_seq_length, do_lower_case
    config_sentence_transformers.json  prompts, default_prompt_name, similarity_fn_name
    1_Pooling/config.json
    2_Dense/config.json, 2_Dense/model.safetensors       (optional, possibly several)
    3_Normalize/                                         (optional)

Other stacks start with another input module (WordEmbeddings, StaticEmbedding or Router in
the root, BoW in ``0_BoW``) and may hold WordWeights, CNN, LSTM, WeightedLayerPooling,
LayerNorm and Dropout; each module folder holds sentence-transformers' file names.

Module types are written under their classic names (``sentence_transformers.models.X``),
which every sentence-transformers release since 2.x loads; on reading only the class name
counts, since the import path moved between releases.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from torch import nn

from ...model_cache import resolve_source
from ..errors import UnsupportedModelError
from ._files import read_json, read_json_object, write_json
from .bow import BoW
from .cnn import CNN
from .dense import Dense
from .dropout import Dropout
from .layer_norm import LayerNorm
from .lstm import LSTM
from .normalize import Normalize
from .pooling import Pooling
from .router import Router
from .static_embedding import StaticEmbedding
from .transformer import Transformer
from .weighted_layer_pooling import WeightedLayerPooling
from .word_embeddings import WordEmbeddings
from .word_weights import WordWeights

MODULES_NAME = "modules.json"
MODEL_CONFIG_NAME = "config_sentence_transformers.json"
_TYPE_PREFIX = "sentence_transformers.models."
_MODULE_CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (Transformer, Pooling, Dense, Normalize, WordEmbeddings, WordWeights, BoW, CNN, LSTM,
                WeightedLayerPooling, StaticEmbedding, LayerNorm, Dropout, Router)
}
_MODULE_CLASSES["Asym"] = Router  # the older name of Router
# Modules that tokenise texts, one of which starts every model.
INPUT_MODULES = (Transformer, WordEmbeddings, BoW, StaticEmbedding, Router)
# Input modules that sentence-transformers stores in the model's root folder when first.
_SAVED_IN_ROOT = (Transformer, WordEmbeddings, StaticEmbedding, Router)


def classic_type_name(module: nn.Module) -> str:
    """The ``type`` modules.json records for ``module`` (``TypeError`` for a class that
    cannot be saved)."""
    kind = type(module).__name__
    if _MODULE_CLASSES.get(kind) is not type(module):
        raise TypeError(
            f"cannot save a module of type {type(module).__qualname__}; supported: {', '.join(_supported())}"
        )
    return _TYPE_PREFIX + kind


def _supported() -> list[str]:
    return sorted(_MODULE_CLASSES)


def module_class(type_name: str, file: Path) -> type:
    """The class a module ``type`` names (only the class name counts: the import path
    moved between releases); ``UnsupportedModelError`` naming ``file`` otherwise."""
    cls = _MODULE_CLASSES.get(str(type_name).rsplit(".", 1)[-1])
    if cls is None:
        raise UnsupportedModelError(
            f"{file}: module {type_name!r} is not supported (supported: {', '.join(_supported())})"
        )
    return cls


def load_module(cls: type, folder: Path, model_args: dict[str, Any] | None) -> nn.Module:
    """``cls.load(folder)``; the modules that hold a Hugging Face encoder get ``model_args``."""
    if cls in (Transformer, Router):
        return cls.load(folder, model_args=model_args)
    return cls.load(folder)


Router.registry = SimpleNamespace(classic_type_name=classic_type_name,
                                  module_class=module_class, load_module=load_module)


@dataclass
class ModelDirectory:
    """What a model directory describes: its modules and its model-level settings."""

    modules: list[nn.Module]
    prompts: dict[str, str] = field(default_factory=dict)
    default_prompt_name: str | None = None
    similarity_fn_name: str | None = None


def _module_list(root: Path) -> list[tuple[type, Path]]:
    """(class, folder) for each entry of modules.json, checked before anything is loaded."""
    file = root / MODULES_NAME
    entries = read_json(file, what="sentence-transformers module list")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{file}: corrupt module list: expected a JSON list of objects")
    if not entries:
        raise ValueError(f"{file}: corrupt module list: no modules")
    try:
        entries = sorted(entries, key=lambda e: int(e.get("idx", 0)))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{file}: corrupt module list: {exc}") from exc
    found: list[tuple[type, Path]] = []
    for i, entry in enumerate(entries):
        type_name = str(entry.get("type", ""))
        cls = module_class(type_name, file)
        if (i == 0) != (cls in INPUT_MODULES):
            raise UnsupportedModelError(
                f"{file}: module {i} is {type_name!r}; a model starts with one input module "
                "(Transformer, WordEmbeddings, BoW, StaticEmbedding or Router) and has no other"
            )
        found.append((cls, root / str(entry.get("path", ""))))
    return found


def read_directory(
    path: str | os.PathLike,
    *,
    model_args: dict[str, Any] | None = None,
    plain_pooling: str | tuple[str, ...] | None = "mean",
    revision: str | None = None,
    token: str | bool | None = None,
    cache_folder: str | os.PathLike | None = None,
) -> ModelDirectory:
    """Loads a sentence-transformers directory, or a plain Hugging Face encoder directory
    (``config.json`` without ``modules.json``), which gets ``Pooling(plain_pooling)``.

    ``path`` may be a Hub id (a path that exists wins); ``revision``, ``token`` and
    ``cache_folder`` then pick the revision and cache. ``model_args`` go to the encoder's
    ``from_pretrained``. Errors name the directory and the file at fault.
    """
    root = resolve_source(path, revision=revision, token=token, cache_folder=cache_folder)
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a directory")
    if not (root / MODULES_NAME).is_file():
        if not (root / "config.json").is_file():
            raise FileNotFoundError(
                f"{root}: missing modules.json (sentence-transformers) and config.json (Hugging Face)"
            )
        if plain_pooling is None:
            raise ValueError(
                f"{root}: no modules.json (not a sentence-transformers directory) and no pooling mode given"
            )
        transformer = Transformer(root, model_args=model_args)
        return ModelDirectory(
            [transformer, Pooling(transformer.get_word_embedding_dimension(), plain_pooling)]
        )

    modules: list[nn.Module] = []
    for cls, folder in _module_list(root):
        modules.append(load_module(cls, folder, model_args))
    settings = {}
    if (root / MODEL_CONFIG_NAME).is_file():
        settings = read_json_object(
            root / MODEL_CONFIG_NAME, what="sentence-transformers model config"
        )
    prompts = settings.get("prompts") or {}
    if not isinstance(prompts, dict):
        raise ValueError(f"{root / MODEL_CONFIG_NAME}: prompts must be an object of name -> text")
    return ModelDirectory(
        modules,
        prompts={str(k): str(v) for k, v in prompts.items()},
        default_prompt_name=settings.get("default_prompt_name"),
        similarity_fn_name=settings.get("similarity_fn_name"),
    )


def write_directory(
    path: str | os.PathLike,
    modules: list[nn.Module],
    *,
    prompts: dict[str, str] | None = None,
    default_prompt_name: str | None = None,
    similarity_fn_name: str | None = None,
) -> None:
    """Writes ``modules`` in the sentence-transformers layout: the first in ``path`` itself
    (a BoW in ``0_BoW``), module i in ``path/i_<Class>``."""
    import torch
    import transformers

    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    entries = []
    for idx, module in enumerate(modules):
        kind = type(module).__name__
        type_name = classic_type_name(module)
        folder = "" if idx == 0 and isinstance(module, _SAVED_IN_ROOT) else f"{idx}_{kind}"
        module.save(root / folder)
        entries.append({"idx": idx, "name": str(idx), "path": folder, "type": type_name})
    write_json(root / MODULES_NAME, entries)
    write_json(
        root / MODEL_CONFIG_NAME,
        {
            "model_type": "SentenceTransformer",
            "__version__": {"pytorch": torch.__version__, "transformers": transformers.__version__},
            "prompts": dict(prompts or {}),
            "default_prompt_name": default_prompt_name,
            "similarity_fn_name": similarity_fn_name,
        },
    )
