"""MultipleNegativesSymmetricRankingLoss: InfoNCE in both directions (anchor->positive and back)."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from ..similarity import cos_sim
from .multiple_negatives_ranking import MultipleNegativesRankingLoss


class MultipleNegativesSymmetricRankingLoss(MultipleNegativesRankingLoss):
    """Mean of two normalisations: each anchor against all documents, and each positive
    against all anchors. Same data as MultipleNegativesRankingLoss; equals it with
    ``directions=("query_to_doc", "doc_to_query"), partition_mode="per_direction"``."""

    def __init__(
        self,
        model: nn.Module,
        scale: float = 20.0,
        similarity_fct: Callable[[Tensor, Tensor], Tensor] = cos_sim,
        gather_across_devices: bool = False,
    ) -> None:
        super().__init__(
            model,
            scale=scale,
            similarity_fct=similarity_fct,
            gather_across_devices=gather_across_devices,
            directions=("query_to_doc", "doc_to_query"),
            partition_mode="per_direction",
        )
