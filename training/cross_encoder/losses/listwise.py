"""What the listwise losses share: score every (query, document) of a batch of ranked lists
and lay the scores and labels out as (queries, longest list) matrices."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..activation import IDENTITY
from .base import CrossEncoderLoss


class ListwiseLoss(CrossEncoderLoss):
    """Base class: ``inputs = [queries, documents]`` where ``documents[i]`` is the list of
    documents of query i, and ``labels[i]`` a float tensor of their relevances. Subclasses
    implement ``loss_from_lists``. ``mini_batch_size`` pairs are scored at a time (default:
    as many as there are queries; 0 or less: all at once)."""

    data_shape = "(query, [document, ...]) with a list of relevance labels, one per document"
    # The logit given to the padded places of shorter lists.
    padding_logit: float = -1e16

    def __init__(
        self,
        model: nn.Module,
        activation_fn: nn.Module | None = IDENTITY,
        mini_batch_size: int | None = None,
    ) -> None:
        super().__init__(model, activation_fn)
        self.mini_batch_size = mini_batch_size

    def forward(self, inputs, labels) -> Tensor:
        if isinstance(labels, Tensor):
            raise self.fail("got one label per example; listwise labels are a list per query")
        if labels is None:
            raise self.fail("the examples have no labels")
        self.check_columns(inputs, 2, 2)
        queries, documents = inputs
        if any(isinstance(d, str) for d in documents):
            raise self.fail("the second column holds single texts, not lists of documents")
        sizes = [len(d) for d in documents]
        if sizes != [len(x) for x in labels]:
            raise self.fail(
                f"documents per query {sizes} differ from labels per query {[len(x) for x in labels]}"
            )
        if not sizes or max(sizes) == 0:
            raise self.fail("every document list is empty")
        pairs = [(q, d) for q, docs in zip(queries, documents) for d in docs]
        size = self.mini_batch_size or len(queries)
        logits = self.logits(pairs, size if size > 0 else len(pairs)).float()
        logits = self.activation_fn(logits)
        device = logits.device
        rows = torch.repeat_interleave(torch.arange(len(queries)), torch.tensor(sizes))
        cols = torch.cat([torch.arange(n) for n in sizes])
        shape = (len(queries), max(sizes))
        logit_matrix = torch.full(shape, self.padding_logit, device=device)
        logit_matrix[rows, cols] = logits
        label_matrix = torch.full(shape, float("-inf"), device=device)
        label_matrix[rows, cols] = torch.cat([x.reshape(-1) for x in labels]).float().to(device)
        mask = torch.zeros(shape, dtype=torch.bool, device=device)
        mask[rows, cols] = True
        return self.loss_from_lists(logit_matrix, label_matrix, mask)

    def loss_from_lists(self, logits: Tensor, labels: Tensor, mask: Tensor) -> Tensor:
        """``logits``, ``labels``: (queries, max documents), padded places ``padding_logit``
        and ``-inf``; ``mask``: True at real documents."""
        raise NotImplementedError

    def config(self) -> dict:
        return {**super().config(), "mini_batch_size": self.mini_batch_size}
