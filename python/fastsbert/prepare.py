"""Model preparation, the one entry point :class:`fastsbert.Encoder` calls.

A downward pipeline; each stage imports only the ones below it::

    prepare_model(model, dtype, device)
      1. resolve   model_cache     path / Hub id / None -> a local source directory,
                                   fetching from the Hub only the files the road reads
      2. build     graft           ready onnx/model.onnx + Pooling/Dense/Normalize (onnx)
                or exporter        the whole model traced with torch
                   (both write the directory export_format describes, cached, atomically)
                or static_model    a static embedding model (StaticEmbedding, model2vec):
                                   its matrix and tokenizer for the native static engine
      3. variants  quantize        int8 / float16 graphs beside model.onnx
      4. guard     guard           variant vs float32 on the native engine (_core)

Which road builds a model: the graft whenever the source has ``onnx/model.onnx`` and modules
the graft builds (Pooling, Dense with safetensors weights and a known activation,
Normalize): it needs neither torch nor the model's torch weights, reads fewer bytes, and
gives its first vector several times sooner (bench/bench_first_vector.py); both roads give
sentence-transformers' vectors. Otherwise the exporter, which needs the export extra.
A static embedding model takes neither road unless one is asked for: it needs no graph.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from . import dtypes, graft, static_model
from .export_format import CROSS_ENCODER_KIND, copy_export, read_config
from .model_cache import (
    EXPORT_IGNORE,
    EXPORTED_IGNORE,
    check_model_directory,
    default_model_source,
    hub_snapshot,
    is_exported,
    is_hub_id,
    resolve_source,
)
from .model_cache import cache_entry as _cache_entry
from .quantize import ensure_variant

GRAFT = "graft"
EXPORT = "export"
ROADS = (GRAFT, EXPORT)

# Everything the graft road reads from a Hub repository: the Transformer's graph and
# configs, the module list and each module's config and safetensors weights (Dense), the
# tokenizer's files.
GRAFT_FILES = [
    graft.GRAPH_PATH, graft.GRAPH_PATH + "_data", "modules.json",
    "config_sentence_transformers.json", "sentence_*_config.json", "config.json",
    "*/config.json", "*/model.safetensors", *graft.TOKENIZER_FILES,
    # a repository holding an exported fastsbert directory is recognised by it
    "fastsbert.json",
]


def torch_available() -> bool:
    """Whether the export road can run: torch and transformers are importable."""
    for name in ("torch", "transformers"):
        try:
            if importlib.util.find_spec(name) is None:
                return False
        except (ImportError, ValueError):
            return False
    return True


def _check_road(road: str | None) -> None:
    if road is not None and road not in ROADS:
        raise ValueError(f"road must be None, {GRAFT!r} or {EXPORT!r}, got {road!r}")


def choose_road(src: Path, road: str | None = None) -> str:
    """The road that builds ``src``: ``road`` when given, else the graft when it can, else
    the export (torch). Raises ImportError when neither can run here, naming both fixes."""
    _check_road(road)
    reason = graft.unsupported_reason(src)
    if road == GRAFT and reason is not None:
        raise ValueError(f"the graft road cannot build this model: {reason}")
    if road is not None:
        return road
    if reason is None:
        return GRAFT
    if torch_available():
        return EXPORT
    raise ImportError(
        f"{src} has no ready ONNX graph to graft pooling onto ({reason}), and exporting it "
        "needs torch and transformers, which are not installed. Either install the export "
        "extra: pip install 'fastsbert[export]', or use a model that ships "
        f"{graft.GRAPH_PATH} (every sentence-transformers/* model on the Hub does)"
    )


def _hub_source(repo_id: str, road: str | None, *, revision, token, cache_folder) -> Path:
    """The Hub snapshot of ``repo_id`` holding what the chosen road reads: first the
    graft's files (configs, tokenizer, the ONNX graph); the torch weights only when the
    model must be exported."""
    hub = {"revision": revision, "token": token, "cache_folder": cache_folder}
    if road != EXPORT:
        src = hub_snapshot(repo_id, allow_patterns=GRAFT_FILES, **hub)
        if is_exported(src):  # a repository holding an exported directory
            return hub_snapshot(repo_id, ignore_patterns=EXPORTED_IGNORE, **hub)
        if road is None and static_model.declares_static(src):  # its matrix is all it needs
            return hub_snapshot(repo_id, ignore_patterns=EXPORT_IGNORE, **hub)
        if graft.unsupported_reason(src) is None or road == GRAFT or not torch_available():
            return src
    return hub_snapshot(repo_id, ignore_patterns=EXPORT_IGNORE, **hub)


def _source(model, road, *, revision, token, cache_folder) -> Path:
    if model is None:
        if revision is not None:
            raise ValueError("revision= needs a Hub id as model")
        return default_model_source()
    if is_hub_id(model):
        return _hub_source(os.fspath(model), road, revision=revision, token=token,
                           cache_folder=cache_folder)
    return resolve_source(model, revision=revision)


def build_model(
    model: str | os.PathLike | None,
    *,
    revision: str | None = None,
    token: str | bool | None = None,
    cache_folder: str | os.PathLike | None = None,
    road: str | None = None,
    task: str | None = None,
) -> Path:
    """Stages 1 and 2: the float32 exported directory of ``model`` (see :class:`Encoder`),
    built into the cache on first use by ``road`` (None: :func:`choose_road`). ``task``
    ("query", "document", ...): for a model that starts with a Router, the export of the
    route that task takes (None: the default route); a Router model is exported by torch."""
    _check_road(road)
    if task is not None:
        road = EXPORT
    src = _source(model, road, revision=revision, token=token, cache_folder=cache_folder)
    if is_exported(src) and not (model is not None and is_hub_id(model)):
        return src  # an exported directory, used where it is
    check_model_directory(src)
    out = _cache_entry(model, src)
    if task is not None:
        out = out.with_name(f"{out.name}-task-{task}")
    if is_exported(out):
        return out
    if is_exported(src):
        copy_export(src, out)  # a Hub repo holding an exported model
        return out
    static_kind = static_model.static_source(src) if road is None else None
    chosen = "static" if static_kind is not None else choose_road(src, road)
    # Every road works under a lock per target and renames its result into place, so
    # concurrent first uses build once and a reader never sees a half-written directory.
    try:
        if static_kind is not None:
            static_model.export_static(src, out, static_kind)
        elif chosen == GRAFT:
            graft.graft(src, out)
        else:
            from . import exporter

            exporter.export(src, out, route=task)
    except FileExistsError:
        if not is_exported(out):  # another process finished it first: fine
            raise
    return out


def prepare_model(
    model: str | os.PathLike | None,
    *,
    dtype: str = dtypes.FLOAT32,
    device: str = "cpu",
    revision: str | None = None,
    token: str | bool | None = None,
    cache_folder: str | os.PathLike | None = None,
    road: str | None = None,
    task: str | None = None,
) -> Path:
    """The exported directory :class:`fastsbert.Encoder` loads for ``model`` (for a Router
    model, the route ``task`` takes), with the precision variant ``dtype`` on ``device``
    asks for built and guarded (stages 1-4)."""
    dtype = dtypes.canonical_dtype(dtype)
    model_dir = build_model(model, revision=revision, token=token, cache_folder=cache_folder,
                            road=road, task=task)
    try:
        kind = read_config(model_dir).get("kind")
    except (OSError, ValueError, AttributeError):
        kind = None  # a missing or corrupt fastsbert.json: the engine names it below
    if kind == CROSS_ENCODER_KIND:
        raise ValueError(f"{model_dir} is a cross-encoder, which scores text pairs: load it "
                         "with fastsbert.CrossEncoder")
    variant = dtypes.wanted_variant(dtype, device)
    if variant is not None and not static_model.is_static_export(model_dir):  # float32 only
        ensure_variant(model_dir, variant, required=dtype != dtypes.AUTO)
    return model_dir
