"""CachedMultipleNegativesRankingLoss: MultipleNegativesRankingLoss with gradient caching."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from ..similarity import cos_sim
from .gradcache import GradCacheMixin
from .multiple_negatives_ranking import MultipleNegativesRankingLoss


class CachedMultipleNegativesRankingLoss(GradCacheMixin, MultipleNegativesRankingLoss):
    """The same loss and gradient as MultipleNegativesRankingLoss, with the encoder run on
    ``mini_batch_size`` texts at a time, so that the batch size (the number of negatives)
    is not bounded by activation memory. Same data: (anchor, positive[, negative...])."""

    def __init__(
        self,
        model: nn.Module,
        scale: float = 20.0,
        similarity_fct: Callable[[Tensor, Tensor], Tensor] = cos_sim,
        mini_batch_size: int = 32,
        gather_across_devices: bool = False,
        directions: tuple[str, ...] = ("query_to_doc",),
        partition_mode: str = "joint",
        show_progress_bar: bool = False,
        hardness_mode: str | None = None,
        hardness_strength: float = 0.0,
    ) -> None:
        super().__init__(
            model,
            scale=scale,
            similarity_fct=similarity_fct,
            gather_across_devices=gather_across_devices,
            directions=directions,
            partition_mode=partition_mode,
            hardness_mode=hardness_mode,
            hardness_strength=hardness_strength,
        )
        if mini_batch_size < 1:
            raise ValueError("mini_batch_size must be positive")
        self.mini_batch_size = mini_batch_size
        self.show_progress_bar = show_progress_bar

    def forward(self, features, labels=None):
        features = list(features)
        self.check_inputs(len(features), labels)
        return self.forward_cached(features, labels, self.compute_loss_from_embeddings)

    def config(self) -> dict:
        return {**super().config(), "mini_batch_size": self.mini_batch_size}
