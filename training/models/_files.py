"""JSON files of a model directory, with errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json(path: Path, *, what: str) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"{path.parent}: missing {path.name} ({what})")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: corrupt {what}: {exc}") from exc


def read_json_object(path: Path, *, what: str) -> dict[str, Any]:
    data = read_json(path, what=what)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: corrupt {what}: expected a JSON object")
    return data


def write_json(path: Path, obj: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2)
        fh.write("\n")
