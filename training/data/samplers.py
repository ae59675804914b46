"""Batch samplers for losses that look across the batch.

Both draw their shuffling seed from torch's global generator when an epoch starts (as
torch's ``RandomSampler`` does), so ``torch.manual_seed`` makes them repeatable and a
resumed run replays the same order.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler

from .input_example import InputExample


def _epoch_generator() -> torch.Generator:
    seed = int(torch.empty((), dtype=torch.int64).random_().item())
    return torch.Generator().manual_seed(seed)


def _pack(items: deque, batch_size: int, keys_of) -> Iterator[list]:
    """Greedily fills batches of ``batch_size`` items whose keys do not collide; an item that
    collides waits for a later batch. Each item is yielded once."""
    while items:
        batch, seen, deferred = [], set(), []
        while items and len(batch) < batch_size:
            item = items.popleft()
            keys = keys_of(item)
            if seen.isdisjoint(keys):
                batch.append(item)
                seen.update(keys)
            else:
                deferred.append(item)
        items.extendleft(reversed(deferred))
        yield batch


class NoDuplicatesBatchSampler(Sampler[list[int]]):
    """Shuffled batches in which no text occurs twice, for in-batch-negative losses (where a
    duplicate text would be a false negative).

    Args:
        examples: the training examples (``InputExample``).
        batch_size: examples per batch.
        drop_last: drop a final batch smaller than ``batch_size``.
    """

    def __init__(
        self, examples: Sequence[InputExample], batch_size: int, drop_last: bool = False
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.examples = examples
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __len__(self) -> int:
        n = len(self.examples)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        order = torch.randperm(len(self.examples), generator=_epoch_generator()).tolist()
        texts = [frozenset(self.examples[i].texts) for i in range(len(self.examples))]
        for batch in _pack(deque(order), self.batch_size, lambda i: texts[i]):
            if len(batch) == self.batch_size or not self.drop_last:
                yield batch


class GroupByLabelBatchSampler(Sampler[list[int]]):
    """Batches made of groups of ``samples_per_label`` examples sharing a label, for the batch
    triplet losses (each anchor needs a positive and a negative in its batch).

    Labels with fewer than ``samples_per_label`` examples are left out; each batch holds
    groups of different labels, taken from the labels in turn.
    """

    def __init__(
        self,
        examples: Sequence[InputExample],
        batch_size: int,
        samples_per_label: int = 2,
        drop_last: bool = True,
    ) -> None:
        if samples_per_label < 2:
            raise ValueError("samples_per_label must be at least 2: an anchor needs a positive")
        if batch_size % samples_per_label:
            raise ValueError(
                f"batch_size ({batch_size}) must be a multiple of samples_per_label ({samples_per_label})"
            )
        self.batch_size = batch_size
        self.samples_per_label = samples_per_label
        self.drop_last = drop_last
        groups = defaultdict(list)
        for i, ex in enumerate(examples):
            if ex.label is None:
                raise ValueError(
                    f"GroupByLabelBatchSampler: example {i} has no label; (sentence, class label) examples are expected"
                )
            groups[ex.label].append(i)
        self.groups = {k: v for k, v in groups.items() if len(v) >= samples_per_label}
        if len(self.groups) < 2:
            raise ValueError(
                f"GroupByLabelBatchSampler needs at least 2 labels with {samples_per_label} or more examples each, "
                f"found {len(self.groups)}"
            )

    def _chunks(self, gen: torch.Generator) -> list[list[int]]:
        """Groups of ``samples_per_label`` indices, interleaving labels: each round visits the
        labels that still have examples in a fresh random order and takes one group from each."""
        per_label = []
        for idx in self.groups.values():
            perm = torch.randperm(len(idx), generator=gen).tolist()
            full = len(idx) // self.samples_per_label * self.samples_per_label
            per_label.append(
                deque(
                    [idx[p] for p in perm[s : s + self.samples_per_label]]
                    for s in range(0, full, self.samples_per_label)
                )
            )
        chunks = []
        while any(per_label):
            live = [q for q in per_label if q]
            for j in torch.randperm(len(live), generator=gen).tolist():
                chunks.append(live[j].popleft())
        return chunks

    def __len__(self) -> int:
        n = (
            sum(len(v) // self.samples_per_label for v in self.groups.values())
            * self.samples_per_label
        )
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        flat = [i for chunk in self._chunks(_epoch_generator()) for i in chunk]
        for start in range(0, len(flat), self.batch_size):
            batch = flat[start : start + self.batch_size]
            if len(batch) == self.batch_size or not self.drop_last:
                yield batch
