"""Batch collation: a list of InputExample -> (tokenised features per column, label tensor)."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from .input_example import InputExample


def _where(ex: InputExample, i: int) -> str:
    return f"example {ex.guid!r}" if ex.guid else f"example {i} of the batch"


def labels_to_tensor(labels: Sequence) -> Tensor:
    """Stacks per-example labels: ints/bools -> int64 (batch,), floats -> float32 (batch,),
    equal-length sequences -> float32 (batch, k)."""
    first = labels[0]
    integral = (numbers.Integral, np.bool_)
    if isinstance(first, integral) and all(isinstance(x, integral) for x in labels):
        return torch.tensor([int(x) for x in labels], dtype=torch.long)
    if isinstance(first, numbers.Real):
        if not all(isinstance(x, numbers.Real) for x in labels):
            raise ValueError("labels in a batch mix numbers and sequences")
        return torch.tensor([float(x) for x in labels], dtype=torch.float32)
    try:
        return torch.as_tensor(np.asarray([np.asarray(x, dtype=np.float32) for x in labels]))
    except ValueError as e:
        raise ValueError(
            f"labels in a batch are not numbers nor equal-length vectors: {e}"
        ) from None


def collate_examples(
    batch: Sequence[InputExample], tokenize: Callable[[list[str]], dict]
) -> tuple[list[dict[str, Tensor]], Tensor | None]:
    """Tokenises each text column separately; labels become a tensor, or ``None`` when no
    example has one. Raises ``ValueError`` on an empty batch, a ragged number of texts, or a
    label missing from some examples only."""
    if len(batch) == 0:
        raise ValueError("cannot collate an empty batch")
    for i, ex in enumerate(batch):
        if not isinstance(ex, InputExample):
            raise TypeError(
                f"training data must be InputExample objects, got {type(ex).__name__} at position {i}"
            )
    n_cols = len(batch[0].texts)
    for i, ex in enumerate(batch):
        if len(ex.texts) != n_cols:
            raise ValueError(
                f"{_where(ex, i)} has {len(ex.texts)} texts but the first example has {n_cols}; "
                "all examples of a dataset must have the same number of text columns"
            )
    if n_cols == 0:
        raise ValueError("examples have no texts")
    for i, ex in enumerate(batch):
        if any(isinstance(t, list) for t in ex.texts):
            raise ValueError(
                f"{_where(ex, i)} has a list of texts in one column; only the listwise "
                "cross-encoder losses take those (fastsbert.training.CrossEncoder)"
            )
    features = [tokenize([ex.texts[c] for ex in batch]) for c in range(n_cols)]
    has_label = [ex.label is not None for ex in batch]
    if not any(has_label):
        return features, None
    if not all(has_label):
        i = has_label.index(False)
        raise ValueError(f"{_where(batch[i], i)} has no label while other examples have one")
    return features, labels_to_tensor([ex.label for ex in batch])
