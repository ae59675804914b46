"""Training checkpoints: everything a killed run needs to continue bit for bit.

A checkpoint ``<checkpoint_path>/checkpoint-<global_step>/`` holds the weights of the
model and of every loss (heads, copies), the optimizer, scheduler and gradient-scaler
states, the random generators (torch, CUDA, Python, NumPy) and, per training objective,
the generator state from which its current data iterator was created and how many
batches have been drawn from it. It is written to a temporary folder and renamed, so a
kill during the write leaves the previous checkpoint intact.

Loading a checkpoint runs no code from it, so a checkpoint folder from anywhere is as
safe to resume from as a data file. It holds two files:

- ``tensors.safetensors``: every tensor (weights, optimizer moments, RNG states as
  ``uint8`` tensors), stored as raw bytes;
- ``state.json``: the rest (counters, optimizer ``param_groups``, scheduler state, the
  Python and NumPy generator states, the data positions), written last, so its presence
  marks a complete checkpoint.

Values JSON cannot hold are written as one-key objects: ``{"$tensor": name}`` (a tensor
in the safetensors file), ``{"$tuple": [...]}``, ``{"$ndarray": {"dtype", "shape",
"data"}}`` (numeric dtypes only) and ``{"$dict": [[key, value], ...]}`` (a dict whose
keys are not all strings, such as an optimizer's per-parameter state, or that has a key
starting with ``$``). Loading rebuilds only these types; anything else in the file is
refused with a ``ValueError``.

Checkpoints written before this format are a pickled ``state.pt``. Unpickling runs
whatever code the file names, so such a checkpoint is never loaded: resuming from a
folder whose newest checkpoint is a ``state.pt`` fails with a ``ValueError`` that says
so, and the run can start afresh with ``resume_from_checkpoint=False`` or after the old
checkpoint is deleted.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

_NAME = re.compile(r"^checkpoint-(\d+)$")
STATE_FILE = "state.json"
TENSORS_FILE = "tensors.safetensors"
PICKLE_FILE = "state.pt"  # the format before state.json; never loaded
_NUMERIC_KINDS = "biuf"


def capture_rng() -> dict:
    state = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": np.random.get_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def list_checkpoints(root: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(global_step, folder)`` of every checkpoint under ``root``, oldest first; old
    pickled ones included, so that resuming can refuse them by name."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        m = _NAME.match(p.name)
        if m and ((p / STATE_FILE).is_file() or (p / PICKLE_FILE).is_file()):
            found.append((int(m.group(1)), p))
    return sorted(found)


# --------------------------------------------------------------------------- encoding


class _TensorStore:
    """Collects the tensors of a state under unique names, one entry per distinct view:
    safetensors refuses tensors that share memory, and tied weights (a decoder sharing
    its encoder's embeddings) appear in a state dict once per name."""

    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}
        self._views: dict[tuple, str] = {}
        self._storages: set[int] = set()
        # Keeps every source tensor alive while encoding, so that the memory address of a
        # freed CPU copy cannot be reused by a later tensor and mistaken for its view.
        self._sources: list[torch.Tensor] = []

    def add(self, name: str, t: torch.Tensor) -> str:
        t = t.detach().cpu()
        self._sources.append(t)
        ptr = t.untyped_storage().data_ptr()
        view = (ptr, t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype)
        if ptr and view in self._views:
            return self._views[view]
        if not t.is_contiguous() or (ptr and ptr in self._storages):
            t = t.clone(memory_format=torch.contiguous_format)
        else:
            self._storages.add(ptr)
        unique, n = name, 1
        while unique in self.tensors:  # e.g. keys 0 and "0" of one dict give the same path
            unique, n = f"{name}#{n}", n + 1
        self._views[view] = unique
        self.tensors[unique] = t
        return unique


def _encode(value, where: str, store: _TensorStore):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in _NUMERIC_KINDS:
        return value.item()  # e.g. a numpy score from an evaluator
    if isinstance(value, torch.Tensor):
        return {"$tensor": store.add(where, value)}
    if isinstance(value, np.ndarray) and value.dtype.kind in _NUMERIC_KINDS:
        return {
            "$ndarray": {
                "dtype": value.dtype.name,
                "shape": list(value.shape),
                "data": value.ravel().tolist(),
            }
        }
    if isinstance(value, list):
        return [_encode(v, f"{where}/{i}", store) for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v, f"{where}/{i}", store) for i, v in enumerate(value)]}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: _encode(v, f"{where}/{k}", store) for k, v in value.items()}
        return {
            "$dict": [
                [_encode(k, f"{where}/key", store), _encode(v, f"{where}/{k}", store)]
                for k, v in value.items()
            ]
        }
    raise TypeError(
        f"cannot store {type(value).__name__} at {where!r} in a checkpoint "
        "(only tensors, numeric arrays, numbers, strings, lists, tuples and dicts)"
    )


def _decode(value, where: str, tensors: dict[str, torch.Tensor]):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_decode(v, where, tensors) for v in value]
    # What json.load gives is now a dict.
    tags = [k for k in value if k.startswith("$")]
    if not tags:
        return {k: _decode(v, where, tensors) for k, v in value.items()}
    if len(value) != 1:
        raise ValueError(f"{where}: a tagged value must have one key, got {sorted(value)}")
    tag, body = tags[0], value[tags[0]]
    if tag == "$tensor":
        if not isinstance(body, str) or body not in tensors:
            raise ValueError(f"{where}: tensor {body!r} is not in {TENSORS_FILE}")
        return tensors[body]
    if tag == "$tuple" and isinstance(body, list):
        return tuple(_decode(v, where, tensors) for v in body)
    if tag == "$dict" and isinstance(body, list):
        if not all(isinstance(kv, list) and len(kv) == 2 for kv in body):
            raise ValueError(f"{where}: $dict must be a list of [key, value] pairs")
        try:
            return {_decode(k, where, tensors): _decode(v, where, tensors) for k, v in body}
        except TypeError as exc:  # a key that cannot be a dict key, such as a list
            raise ValueError(f"{where}: bad $dict key: {exc}") from exc
    if tag == "$ndarray" and isinstance(body, dict):
        return _decode_ndarray(body, where)
    raise ValueError(f"{where}: unknown or malformed tagged value {tag!r}")


def _decode_ndarray(body: dict, where: str) -> np.ndarray:
    name = body.get("dtype")
    try:
        dtype = np.dtype(name) if isinstance(name, str) else None
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in _NUMERIC_KINDS or dtype.name != name:
        raise ValueError(f"{where}: $ndarray dtype {name!r} is not a numeric NumPy dtype")
    shape, data = body.get("shape"), body.get("data")
    if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
        raise ValueError(f"{where}: $ndarray shape {shape!r} is not a list of sizes")
    if not (isinstance(data, list) and len(data) == math.prod(shape)):
        raise ValueError(f"{where}: $ndarray data does not hold {math.prod(shape)} values")
    return np.array(data, dtype=dtype).reshape(shape)


# --------------------------------------------------------------------------- files


def save_checkpoint(root: str | os.PathLike, global_step: int, state: dict, keep: int = 0) -> Path:
    """Writes ``state`` as checkpoint ``global_step``; with ``keep > 0`` only the newest
    ``keep`` checkpoints remain."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    store = _TensorStore()
    encoded = _encode(state, "", store)
    final = root / f"checkpoint-{global_step}"
    tmp = root / f".tmp-checkpoint-{global_step}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file(store.tensors, str(tmp / TENSORS_FILE))
    with open(tmp / STATE_FILE, "w", encoding="utf-8") as f:
        json.dump(encoded, f)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    if keep > 0:
        for _, old in list_checkpoints(root)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(folder: str | os.PathLike) -> dict:
    """Reads one checkpoint folder written by :func:`save_checkpoint`, running no code
    from it. Raises ``ValueError`` naming the file for an old pickled checkpoint or a
    damaged one."""
    folder = Path(folder)
    state_file, tensors_file = folder / STATE_FILE, folder / TENSORS_FILE
    if not state_file.is_file():
        if (folder / PICKLE_FILE).is_file():
            raise ValueError(
                f"{folder / PICKLE_FILE}: this checkpoint is from an older fastsbert format "
                "(a pickle), which is not loaded because unpickling can run arbitrary code; "
                "delete the folder, or pass resume_from_checkpoint=False to start afresh"
            )
        raise FileNotFoundError(f"{state_file}: no checkpoint state in {folder}")
    try:
        tensors = load_file(str(tensors_file), device="cpu")
    except (OSError, SafetensorError) as exc:
        raise ValueError(f"{tensors_file}: not a readable safetensors file: {exc}") from exc
    try:
        with open(state_file, encoding="utf-8") as f:
            raw = json.load(f)
        state = _decode(raw, str(state_file), tensors)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{state_file}: not a readable checkpoint state: {exc}") from exc
    if not isinstance(state, dict):
        # A damaged file, not a wrong argument: a ValueError like every other file error.
        raise ValueError(f"{state_file}: the state is not a JSON object")  # noqa: TRY004
    return state
