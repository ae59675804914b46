"""A cross-encoder's exported directory, the one entry point :class:`fastsbert.CrossEncoder`
calls: ``model`` resolved (a directory or a Hub id, fetching only what the chosen road
reads), then built once into fastsbert's cache by one of two roads:

- the graft (:mod:`fastsbert.cross_encoder_graft`) whenever the source has a ready
  ``onnx/model.onnx`` whose activation it builds: no torch, no torch weights read;
- the export (:mod:`fastsbert.cross_encoder_export`) otherwise, which needs torch and
  transformers (the export extra).

Both give sentence-transformers' scores. Without torch and without a graph, an ImportError
names both ways out.
"""

from __future__ import annotations

import os
from pathlib import Path

from .cross_encoder_format import KIND, transformer_dir
from .cross_encoder_graft import GRAPH_PATH, HUB_FILES, graft_cross_encoder, unsupported_reason
from .export_format import copy_export, read_config
from .model_cache import (
    EXPORT_IGNORE,
    EXPORTED_IGNORE,
    cache_entry,
    hub_snapshot,
    is_exported,
    is_hub_id,
    resolve_source,
)
from .prepare import EXPORT, GRAFT, torch_available


def choose_road(src: Path) -> str:
    """The graft when it can build ``src``, else the export (torch). Raises ImportError
    when neither can run here, naming both fixes."""
    reason = unsupported_reason(src)
    if reason is None:
        return GRAFT
    if torch_available():
        return EXPORT
    raise ImportError(
        f"{src} has no ready ONNX graph to build the cross-encoder from ({reason}), and "
        "exporting it needs torch and transformers, which are not installed. Either install "
        "the export extra: pip install 'fastsbert[export]', or use a cross-encoder that ships "
        f"{GRAPH_PATH} (as many cross-encoder repositories on the Hub do)"
    )


def _hub_source(repo_id: str, *, revision, token, cache_folder) -> Path:
    """The Hub snapshot of ``repo_id`` with what the chosen road reads: the graft's files
    (configs, tokenizer, the ONNX graph) first; the torch weights only when the model must
    be exported."""
    hub = {"revision": revision, "token": token, "cache_folder": cache_folder}
    src = hub_snapshot(repo_id, allow_patterns=HUB_FILES, **hub)
    if is_exported(src):  # a repository holding an exported directory
        return hub_snapshot(repo_id, ignore_patterns=EXPORTED_IGNORE, **hub)
    if unsupported_reason(src) is None or not torch_available():
        return src
    return hub_snapshot(repo_id, ignore_patterns=EXPORT_IGNORE, **hub)


def resolve_cross_encoder(model, *, revision=None, token=None, cache_folder=None) -> Path:
    """An exported cross-encoder directory for ``model`` (an exported directory, a
    sentence-transformers / Hugging Face directory or a Hub id), built once into
    fastsbert's cache (``$FASTSBERT_HOME/models``) when needed."""
    if model is None:
        raise TypeError("CrossEncoder needs a model: a directory or a Hub id")
    from_hub = is_hub_id(model)
    if from_hub:
        src = _hub_source(os.fspath(model), revision=revision, token=token,
                          cache_folder=cache_folder)
    else:
        src = resolve_source(model, revision=revision)
    if is_exported(src):
        kind = read_config(src).get("kind")
        if kind != KIND:
            raise ValueError(f"{src} is an exported embedding model, not a cross-encoder: "
                             "load it with fastsbert.Encoder")
        if not from_hub:
            return src
    elif not (transformer_dir(src) / "config.json").is_file():
        raise FileNotFoundError(f"{src} is not a cross-encoder directory: it has no "
                                "fastsbert.json (exported) or config.json (Hugging Face)")
    entry = cache_entry(model, src)
    out = entry.with_name(f"cross-{entry.name}")
    if is_exported(out):
        return out
    if is_exported(src):  # an exported cross-encoder in the Hub cache: copied out of it
        copy_export(src, out)
        return out
    try:
        if choose_road(src) == GRAFT:
            graft_cross_encoder(src, out)
        else:
            from .cross_encoder_export import export_cross_encoder

            export_cross_encoder(src, out)
    except FileExistsError:
        if not is_exported(out):
            raise
    return out
