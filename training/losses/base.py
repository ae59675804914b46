"""The protocol every loss follows, and the helpers they share.

A loss is an ``nn.Module`` built as ``Loss(model, **options)`` and called as
``loss(features, labels) -> scalar Tensor``, where ``features`` is a list with one tokenised
batch per text column (as produced by ``SentenceEncoder.collate``) and ``labels`` is a
tensor or ``None``. A loss that is a function of the sentence embeddings alone also has
``compute_loss_from_embeddings(embeddings, labels)``, with ``embeddings`` a list of
(batch, dim) tensors, one per text column. ``config()`` returns the loss options. ``prepare(features)`` returns extra keyword
arguments for ``compute_loss_from_embeddings`` that do not come from the model.

Each loss states the data it takes (``data_shape``), which ``check_inputs`` enforces with
errors that name the loss and that shape.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# What a loss does with labels.
SCORE = "score"  # one number per example, float or int (regression on a similarity score)
CLASS = "class"  # one integer class per example
NONE = "none"  # labels are ignored
TEACHER = "teacher"  # float targets from a teacher model, shape checked by the loss


class LossInputError(ValueError):
    """Training data that does not fit the loss it is given to."""


class Loss(nn.Module):
    """Base class: subclasses set the class attributes and implement
    ``compute_loss_from_embeddings`` (or override ``forward``)."""

    min_columns: int = 2
    max_columns: int | None = 2
    label_kind: str = SCORE
    data_shape: str = "(sentence_a, sentence_b) texts with a float score label"

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    # ------------------------------------------------------------------ checks
    def fail(self, problem: str) -> LossInputError:
        return LossInputError(f"{type(self).__name__}: {problem}; it expects {self.data_shape}")

    def check_inputs(
        self, n_columns: int, labels: Tensor | None, batch_size: int | None = None
    ) -> None:
        """Raises ``LossInputError`` when the number of text columns or the labels do not fit."""
        lo, hi = self.min_columns, self.max_columns
        if n_columns < lo or (hi is not None and n_columns > hi):
            want = f"{lo}" if lo == hi else (f"at least {lo}" if hi is None else f"{lo} to {hi}")
            raise self.fail(f"got {n_columns} text column(s) per example, needs {want}")
        if self.label_kind == NONE:
            return
        if labels is None:
            raise self.fail("the examples have no labels")
        if not isinstance(labels, Tensor):
            raise self.fail(f"labels must be a tensor, got {type(labels).__name__}")
        if self.label_kind == TEACHER:
            if not labels.is_floating_point():
                raise self.fail(f"teacher targets must be floats, got {labels.dtype}")
            return
        if batch_size is not None and labels.numel() != batch_size:
            raise self.fail(
                f"got {labels.numel()} labels of shape {tuple(labels.shape)} for {batch_size} examples (one label per example)"
            )
        if self.label_kind == CLASS and (labels.is_floating_point() or labels.is_complex()):
            raise self.fail(f"got {labels.dtype} labels; class labels must be integers")
        if labels.is_floating_point() and not torch.isfinite(labels).all():
            raise self.fail("some labels are NaN or infinite")

    # ------------------------------------------------------------------ protocol
    def forward(self, features: list[dict[str, Tensor]], labels: Tensor | None) -> Tensor:
        features = list(features)
        self.check_inputs(len(features), labels, batch_size(features[0]) if features else None)
        extra = self.prepare(features)
        return self.compute_loss_from_embeddings(
            embed_columns(self.model, features), labels, **extra
        )

    def prepare(self, features: list[dict[str, Tensor]]) -> dict:
        """Inputs other than the model's embeddings that ``compute_loss_from_embeddings``
        needs (e.g. a guide model's embeddings), as keyword arguments; wrappers call it once
        and reuse the result for every truncation or layer."""
        return {}

    def compute_loss_from_embeddings(
        self, embeddings: list[Tensor], labels: Tensor | None
    ) -> Tensor:
        raise NotImplementedError(
            f"{type(self).__name__} is not a function of the embeddings alone"
        )

    def config(self) -> dict:
        return {}

    def get_config_dict(self) -> dict:
        return self.config()


def batch_size(features: dict[str, Tensor]) -> int:
    return int(features["input_ids"].shape[0])


def merge_columns(features: list[dict[str, Tensor]]) -> dict[str, Tensor] | None:
    """Stacks several tokenised columns into one batch, right-padding to the longest; ``None``
    when the columns cannot be stacked (different keys)."""
    keys = set(features[0])
    if any(set(f) != keys for f in features[1:]):
        return None
    length = max(f["input_ids"].shape[1] for f in features)
    merged = {}
    for k in keys:
        parts = []
        for f in features:
            t = f[k]
            if not isinstance(t, Tensor) or t.dim() != 2:  # e.g. a Router's task name
                return None
            pad = 0 if k != "input_ids" else _pad_id(f)
            parts.append(F.pad(t, (0, length - t.shape[1]), value=pad))
        merged[k] = torch.cat(parts)
    return merged


def _pad_id(f: dict[str, Tensor]) -> int:
    # Padded positions are masked out, so the id only has to be a valid index.
    return 0


def embed_columns(
    model: nn.Module, features: list[dict[str, Tensor]], merge: bool = True
) -> list[Tensor]:
    """Sentence embeddings for each text column: a list of (batch, dim) tensors.

    With ``merge`` the columns go through the encoder as one stacked batch, which is faster
    than one pass per column; padded positions are masked, so the embeddings are the same.
    """
    if merge and len(features) > 1:
        merged = merge_columns(features)
        if merged is not None:
            emb = model(merged)["sentence_embedding"]
            return list(emb.split([batch_size(f) for f in features]))
    return [model(f)["sentence_embedding"] for f in features]
