"""Normalize: scales each sentence embedding to unit L2 length."""

from __future__ import annotations

import os
from pathlib import Path

import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import UnsupportedModelError
from ._files import read_json_object

_FEATURE = "sentence_embedding"


class Normalize(nn.Module):
    """L2-normalises ``features["sentence_embedding"]`` along its last axis."""

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        features[_FEATURE] = F.normalize(features[_FEATURE], p=2.0, dim=-1)
        return features

    def save(self, path: str | os.PathLike) -> None:
        # Nothing to store; sentence-transformers expects the (empty) folder.
        Path(path).mkdir(parents=True, exist_ok=True)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Normalize:
        # Older releases write no config at all; newer ones name the feature it acts on.
        file = Path(path) / "config.json"
        cfg = read_json_object(file, what="Normalize config") if file.is_file() else {}
        for key in ("module_input_name", "module_output_name"):
            if cfg.get(key) not in (None, _FEATURE):
                raise UnsupportedModelError(f"{path}: Normalize on {cfg[key]!r} is not supported")
        return cls()
