"""Reading a module's JSON config into constructor arguments, with errors naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._files import read_json_object


def read_module_config(
    file: Path,
    what: str,
    *,
    required: tuple[str, ...] = (),
    renames: dict[str, str] | None = None,
    allowed: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The config in ``file`` as keyword arguments: each key of ``renames`` (an older
    release's name) is read as its value; a key of ``required`` that is missing, or a key
    outside ``allowed`` (when given), is a ``ValueError`` naming the file."""
    cfg = read_json_object(file, what=f"{what} config")
    for old, new in (renames or {}).items():
        if old in cfg and new not in cfg:
            cfg[new] = cfg.pop(old)
    for key in required:
        if key not in cfg:
            raise ValueError(f"{file}: {what} config lacks {key!r}")
    if allowed:
        unknown = sorted(set(cfg) - set(allowed))
        if unknown:
            raise ValueError(f"{file}: unknown {what} settings {unknown}")
    return cfg
