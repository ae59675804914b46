"""Datasets for the unsupervised losses: TSDAE noise and Contrastive Tension batches."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from torch.utils.data import Dataset

from .input_example import InputExample


def delete_words(text: str, del_ratio: float = 0.6) -> str:
    """Deletes each whitespace-separated word with probability ``del_ratio`` (keeping at
    least one word), using numpy's global generator."""
    words = text.split()
    if not words:
        return text
    keep = np.random.rand(len(words)) > del_ratio
    if not keep.any():
        keep[np.random.randint(len(words))] = True
    return " ".join(w for w, k in zip(words, keep) if k)


class DenoisingAutoEncoderDataset(Dataset):
    """Yields ``InputExample(texts=[noisy(sentence), sentence])`` for DenoisingAutoEncoderLoss."""

    def __init__(
        self, sentences: Sequence[str], noise_fn: Callable[[str], str] = delete_words
    ) -> None:
        self.sentences = list(sentences)
        self.noise_fn = noise_fn

    def __len__(self) -> int:
        return len(self.sentences)

    def __getitem__(self, i: int) -> InputExample:
        s = self.sentences[i]
        return InputExample(texts=[self.noise_fn(s), s])


class ContrastiveTensionDataLoader:
    """Batches for ContrastiveTensionLoss: one pair in ``pos_neg_ratio`` repeats a sentence
    (label 1), the others pair two different sentences (label 0).

    Iterating shuffles ``sentences`` with Python's ``random``. Set ``collate_fn`` (the trainer
    does) to get tokenised batches.
    """

    def __init__(self, sentences: Sequence[str], batch_size: int, pos_neg_ratio: int = 8) -> None:
        if batch_size % pos_neg_ratio:
            raise ValueError(
                f"batch_size ({batch_size}) must be divisible by pos_neg_ratio ({pos_neg_ratio})"
            )
        self.sentences = list(sentences)
        self.batch_size = batch_size
        self.pos_neg_ratio = pos_neg_ratio
        self.collate_fn = None

    def __len__(self) -> int:
        per_batch = 2 * self.batch_size - self.batch_size // self.pos_neg_ratio
        return len(self.sentences) // per_batch

    def __iter__(self) -> Iterator:
        random.shuffle(self.sentences)
        it = iter(self.sentences)
        for _ in range(len(self)):
            batch = []
            for k in range(self.batch_size):
                a = next(it)
                positive = k % self.pos_neg_ratio == 0
                batch.append(
                    InputExample(texts=[a, a if positive else next(it)], label=int(positive))
                )
            yield self.collate_fn(batch) if self.collate_fn is not None else batch
