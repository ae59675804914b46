"""MultipleNegativesRankingLoss (InfoNCE): every other document in the batch is a negative."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..similarity import cos_sim, function_name
from .base import NONE, Loss

DIRECTIONS = ("query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc")
HARDNESS_MODES = (None, "in_batch_negatives", "hard_negatives", "all_negatives")


def check_options(
    directions, partition_mode, hardness_mode, hardness_strength, scale
) -> tuple[str, ...]:
    if not scale > 0:
        raise ValueError("scale must be positive")
    if not directions:
        raise ValueError("at least one direction is needed")
    unknown = set(directions) - set(DIRECTIONS)
    if unknown:
        raise ValueError(f"unknown directions {sorted(unknown)}; valid: {DIRECTIONS}")
    if "query_to_doc" not in directions:
        raise ValueError("'query_to_doc' is required: it holds the positive pair")
    if partition_mode not in ("joint", "per_direction"):
        raise ValueError(
            f"partition_mode must be 'joint' or 'per_direction', got {partition_mode!r}"
        )
    if partition_mode == "per_direction" and set(directions) & {"query_to_query", "doc_to_doc"}:
        raise ValueError(
            "partition_mode='per_direction' needs every direction to contain the positive; use 'joint' with query_to_query/doc_to_doc"
        )
    if hardness_mode not in HARDNESS_MODES:
        raise ValueError(f"hardness_mode must be one of {HARDNESS_MODES}, got {hardness_mode!r}")
    if hardness_strength < 0:
        raise ValueError("hardness_strength must be non-negative")
    return tuple(directions)


def ranking_loss(
    queries: Tensor,
    docs: list[Tensor],
    rows: Tensor,
    *,
    scale: float,
    similarity_fct: Callable[[Tensor, Tensor], Tensor],
    directions: tuple[str, ...],
    partition_mode: str,
    hardness_mode: str | None,
    hardness_strength: float,
) -> Tensor:
    """Summed cross-entropy of the positive among the candidates, for the query rows ``rows``.

    queries: (n, dim); docs: k tensors (n, dim), docs[0] the positives; rows: (r,) indices.
    Returns the sum over those rows of ``-(s_pos - logZ)``, so that chunks of rows add up.
    Candidates: all docs (query_to_doc), other queries (query_to_query), all queries for
    the row's positive (doc_to_query), and other docs for the row's positive (doc_to_doc).
    """
    n = queries.shape[0]
    n_docs = len(docs)
    docs_all = torch.cat(docs)
    r = torch.arange(len(rows), device=queries.device)
    own = torch.zeros(len(rows), n, dtype=torch.bool, device=queries.device)
    own[r, rows] = True
    q, pos = queries[rows], docs[0][rows]
    sims = {"query_to_doc": similarity_fct(q, docs_all)}
    if "query_to_query" in directions:
        sims["query_to_query"] = similarity_fct(q, queries).masked_fill(own, -torch.inf)
    if "doc_to_query" in directions:
        sims["doc_to_query"] = similarity_fct(queries, pos).T
    if "doc_to_doc" in directions:
        sims["doc_to_doc"] = similarity_fct(docs_all, pos).T.masked_fill(
            own.repeat(1, n_docs), -torch.inf
        )
    sims = {k: v * scale for k, v in sims.items()}
    if hardness_mode is not None and hardness_strength > 0:
        # Up-weights hard negatives by adding a detached multiple of their similarity
        # to their logits; which columns get it depends on the mode.
        penalty = hardness_strength * sims["query_to_doc"].detach() / scale
        own_docs = own.repeat(1, n_docs)
        if hardness_mode == "hard_negatives":
            exclude = ~own_docs
            exclude[:, :n] = True
        elif hardness_mode == "in_batch_negatives":
            exclude = own_docs
        else:
            exclude = own_docs.clone()
            exclude[:, n:] = False
        sims["query_to_doc"] = sims["query_to_doc"] + penalty.masked_fill(exclude, 0.0)
    positive = sims["query_to_doc"][r, rows]
    if partition_mode == "joint":
        log_z = torch.logsumexp(torch.cat(list(sims.values()), dim=1), dim=1)
    else:
        log_z = sum(torch.logsumexp(s, dim=1) for s in sims.values()) / len(sims)
    return -(positive - log_z).sum()


class MultipleNegativesRankingLoss(Loss):
    """InfoNCE with in-batch negatives, plus any hard-negative columns.

    Data: (anchor, positive) or (anchor, positive, negative_1, ...); no label.
    Embeddings: k >= 2 tensors (batch, dim). For anchor i the candidates are all positives
    and negatives of the batch; the loss is the mean cross-entropy of its own positive.
    """

    min_columns, max_columns = 2, None
    label_kind = NONE
    data_shape = "(anchor, positive) or (anchor, positive, negative...) texts; no label needed"

    def __init__(
        self,
        model: nn.Module,
        scale: float = 20.0,
        similarity_fct: Callable[[Tensor, Tensor], Tensor] = cos_sim,
        gather_across_devices: bool = False,
        directions: tuple[str, ...] = ("query_to_doc",),
        partition_mode: str = "joint",
        hardness_mode: str | None = None,
        hardness_strength: float = 0.0,
    ) -> None:
        super().__init__(model)
        if gather_across_devices:
            raise ValueError(
                f"{type(self).__name__}: gather_across_devices needs a distributed run, which this trainer does not do"
            )
        self.directions = check_options(
            directions, partition_mode, hardness_mode, hardness_strength, scale
        )
        self.scale = scale
        self.similarity_fct = similarity_fct
        self.gather_across_devices = False
        self.partition_mode = partition_mode
        self.hardness_mode = hardness_mode
        self.hardness_strength = hardness_strength

    def _options(self) -> dict:
        return {
            "scale": self.scale,
            "similarity_fct": self.similarity_fct,
            "directions": self.directions,
            "partition_mode": self.partition_mode,
            "hardness_mode": self.hardness_mode,
            "hardness_strength": self.hardness_strength,
        }

    def compute_loss_from_embeddings(
        self, embeddings: list[Tensor], labels: Tensor | None = None
    ) -> Tensor:
        self.check_inputs(len(embeddings), labels)
        queries, docs = embeddings[0], list(embeddings[1:])
        rows = torch.arange(queries.shape[0], device=queries.device)
        return ranking_loss(queries, docs, rows, **self._options()) / queries.shape[0]

    @property
    def temperature(self) -> float:
        return 1.0 / self.scale

    def config(self) -> dict:
        return {
            "scale": self.scale,
            "similarity_fct": function_name(self.similarity_fct),
            "gather_across_devices": self.gather_across_devices,
            "directions": self.directions,
            "partition_mode": self.partition_mode,
            "hardness_mode": self.hardness_mode,
            "hardness_strength": self.hardness_strength,
        }
