"""Module weight files (``model.safetensors``, or the older ``pytorch_model.bin``), with
errors that name the file."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

WEIGHTS_NAME = "model.safetensors"
LEGACY_WEIGHTS_NAME = "pytorch_model.bin"


def save_weights(module: nn.Module, path: Path) -> None:
    """Writes ``module``'s state dict to ``path/model.safetensors`` (CPU, contiguous)."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    save_file(state, str(Path(path) / WEIGHTS_NAME))


def read_weights(path: Path, *, what: str) -> tuple[dict[str, Tensor], Path]:
    """The tensors stored in ``path`` and the file they came from."""
    path = Path(path)
    weights, legacy = path / WEIGHTS_NAME, path / LEGACY_WEIGHTS_NAME
    try:
        if weights.is_file():
            from safetensors.torch import load_file

            return load_file(str(weights)), weights
        if legacy.is_file():
            return torch.load(legacy, map_location="cpu", weights_only=True), legacy
    except Exception as exc:  # safetensors and pickle raise their own error types
        raise ValueError(
            f"{weights if weights.is_file() else legacy}: corrupt {what} weights: {exc}"
        ) from exc
    raise FileNotFoundError(f"{path}: missing {WEIGHTS_NAME} (or {LEGACY_WEIGHTS_NAME}) for {what}")


def load_weights(module: nn.Module, path: Path, *, what: str) -> None:
    """Copies the weights stored in ``path`` into ``module``; a shape or name mismatch is a
    ``ValueError`` naming the file."""
    state, file = read_weights(path, what=what)
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"{file}: {what} weights do not match its config: {exc}") from exc
