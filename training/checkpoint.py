"""Training checkpoints: everything a killed run needs to continue bit for bit.

A checkpoint ``<checkpoint_path>/checkpoint-<global_step>/state.pt`` holds the weights of
the model and of every loss (heads, copies), the optimizer, scheduler and gradient-scaler
states, the random generators (torch, CUDA, Python, NumPy) and, per training objective,
the generator state from which its current data iterator was created and how many
batches have been drawn from it. It is written to a temporary folder and renamed, so a
kill during the write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path

import numpy as np
import torch

_NAME = re.compile(r"^checkpoint-(\d+)$")


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
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        m = _NAME.match(p.name)
        if m and (p / "state.pt").is_file():
            found.append((int(m.group(1)), p))
    return sorted(found)


def save_checkpoint(root: str | os.PathLike, global_step: int, state: dict, keep: int = 0) -> Path:
    """Writes ``state`` as checkpoint ``global_step``; with ``keep > 0`` only the newest
    ``keep`` checkpoints remain."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"checkpoint-{global_step}"
    tmp = root / f".tmp-checkpoint-{global_step}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    torch.save(state, tmp / "state.pt")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    if keep > 0:
        for _, old in list_checkpoints(root)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_latest(root: str | os.PathLike) -> dict | None:
    found = list_checkpoints(root)
    if not found:
        return None
    return torch.load(found[-1][1] / "state.pt", map_location="cpu", weights_only=False)
