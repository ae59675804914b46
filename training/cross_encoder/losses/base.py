"""The protocol every cross-encoder loss follows.

A loss is an ``nn.Module`` built as ``Loss(model, **options)`` and called as
``loss(inputs, labels) -> scalar Tensor``: ``inputs`` are the batch's text columns (as
``CrossEncoder.collate`` gives them: ``[queries, documents, ...]``, where for the listwise
losses the documents column holds one list per query), ``labels`` a tensor, a list of
tensors (listwise) or ``None``. The loss builds the pairs it scores and calls
``logits(pairs)``; ``config()`` returns its options (``get_config_dict`` is the
sentence-transformers name). Names, options and defaults are sentence-transformers'.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from ...losses.base import LossInputError
from ..activation import activation_name


class CrossEncoderLoss(nn.Module):
    """Base class: subclasses set ``data_shape`` (what the loss takes, for error messages)
    and ``single_label`` (whether the model must have one output)."""

    data_shape: str = "(query, document) pairs with a label"
    single_label: bool = True

    def __init__(self, model: nn.Module, activation_fn: nn.Module | None = None) -> None:
        super().__init__()
        if not callable(getattr(model, "score_pairs", None)):
            raise TypeError(
                f"{type(self).__name__} needs a fastsbert.training.CrossEncoder, got {type(model).__name__}"
            )
        if self.single_label and model.num_labels != 1:
            raise ValueError(
                f"{type(self).__name__} needs a model with one output label, this one has {model.num_labels}"
            )
        self.model = model
        self.activation_fn = activation_fn if activation_fn is not None else nn.Identity()

    def fail(self, problem: str) -> LossInputError:
        return LossInputError(f"{type(self).__name__}: {problem}; it expects {self.data_shape}")

    def check_columns(self, inputs: Sequence, lo: int, hi: int | None = None) -> None:
        n = len(inputs)
        if n < lo or (hi is not None and n > hi):
            want = f"{lo}" if lo == hi else (f"at least {lo}" if hi is None else f"{lo} to {hi}")
            raise self.fail(f"got {n} text column(s), needs {want}")

    def check_pointwise_labels(self, labels, batch: int) -> Tensor:
        """One label per example, flattened to (batch,)."""
        if not isinstance(labels, Tensor):
            raise self.fail(
                f"labels must be a tensor with one value per example, got {type(labels).__name__}"
            )
        if labels.numel() != batch:
            raise self.fail(
                f"got {labels.numel()} labels of shape {tuple(labels.shape)} for {batch} examples"
            )
        return labels.view(-1)

    def logits(self, pairs: Sequence[Sequence[str]], mini_batch_size: int | None = None) -> Tensor:
        """The model's logits of ``pairs`` as (n,) (one-label models) or (n, num_labels),
        computed ``mini_batch_size`` pairs at a time (all at once when None)."""
        import torch

        size = mini_batch_size or len(pairs)
        parts = [self.model.score_pairs(pairs[i : i + size]) for i in range(0, len(pairs), size)]
        out = torch.cat(parts) if len(parts) > 1 else parts[0]
        return out.view(-1) if self.single_label else out

    def config(self) -> dict:
        return {"activation_fn": activation_name(self.activation_fn)}

    def get_config_dict(self) -> dict:
        return self.config()
