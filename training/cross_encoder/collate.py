"""Batch collation for cross-encoders: InputExamples -> (text columns, labels).

Cross-encoder losses pair texts inside the batch (in-batch negatives, one query against a
list of documents), so the batch keeps the texts and each loss tokenises the pairs it builds.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..data.collate import labels_to_tensor
from ..data.input_example import InputExample


def _where(ex: InputExample, i: int) -> str:
    return f"example {ex.guid!r}" if ex.guid else f"example {i} of the batch"


def collate_pairs(
    batch: Sequence[InputExample],
) -> tuple[list[list], Tensor | list[Tensor] | None]:
    """Columns of texts (column c holds ``example.texts[c]`` of every example) and labels.

    Labels: ``None`` when no example has one; a list of float32 tensors, one per example,
    when a column holds lists of documents (the listwise losses: ``[query, [doc, ...]]``
    with one relevance per document); otherwise a tensor as for sentence encoders (ints ->
    int64, floats -> float32, equal-length lists -> (batch, k) float32).
    """
    if len(batch) == 0:
        raise ValueError("cannot collate an empty batch")
    for i, ex in enumerate(batch):
        if not isinstance(ex, InputExample):
            raise TypeError(
                f"training data must be InputExample objects, got {type(ex).__name__} at position {i}"
            )
    n_cols = len(batch[0].texts)
    if n_cols == 0:
        raise ValueError("examples have no texts")
    for i, ex in enumerate(batch):
        if len(ex.texts) != n_cols:
            raise ValueError(
                f"{_where(ex, i)} has {len(ex.texts)} texts but the first example has {n_cols}; "
                "all examples of a dataset must have the same number of text columns"
            )
    listwise = [isinstance(t, list) for t in batch[0].texts]
    for i, ex in enumerate(batch):
        if [isinstance(t, list) for t in ex.texts] != listwise:
            raise ValueError(
                f"{_where(ex, i)}: a column holds a list of texts in some examples and a "
                "single text in others"
            )
    columns = [[ex.texts[c] for ex in batch] for c in range(n_cols)]
    has_label = [ex.label is not None for ex in batch]
    if not any(has_label):
        return columns, None
    if not all(has_label):
        i = has_label.index(False)
        raise ValueError(f"{_where(batch[i], i)} has no label while other examples have one")
    if not any(listwise):
        return columns, labels_to_tensor([ex.label for ex in batch])
    labels = []
    for i, ex in enumerate(batch):
        try:
            labels.append(torch.as_tensor(ex.label, dtype=torch.float32).reshape(-1))
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{_where(ex, i)}: a listwise label must be a list of numbers, got {ex.label!r}"
            ) from exc
    return columns, labels
