"""Matryoshka2dLoss: AdaptiveLayerLoss around MatryoshkaLoss (2D Matryoshka / ESE)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import nn

from .adaptive_layer import AdaptiveLayerLoss
from .matryoshka import MatryoshkaLoss


class Matryoshka2dLoss(AdaptiveLayerLoss):
    """Trains truncated dimensions (``matryoshka_dims``) and early layers at once: each
    step draws ``n_layers_per_step`` layers and ``n_dims_per_step`` dimensions.
    Takes the data of the wrapped ``loss``."""

    def __init__(
        self,
        model: nn.Module,
        loss: nn.Module,
        matryoshka_dims: Sequence[int],
        matryoshka_weights: Sequence[float] | None = None,
        n_layers_per_step: int = 1,
        n_dims_per_step: int = 1,
        last_layer_weight: float = 1.0,
        prior_layers_weight: float = 1.0,
        kl_div_weight: float = 1.0,
        kl_temperature: float = 0.3,
        layer_weighting: str | Callable[[int], float] = "uniform",
    ) -> None:
        inner = MatryoshkaLoss(
            model,
            loss,
            matryoshka_dims,
            matryoshka_weights=matryoshka_weights,
            n_dims_per_step=n_dims_per_step,
        )
        super().__init__(
            model,
            inner,
            n_layers_per_step=n_layers_per_step,
            last_layer_weight=last_layer_weight,
            prior_layers_weight=prior_layers_weight,
            kl_div_weight=kl_div_weight,
            kl_temperature=kl_temperature,
            layer_weighting=layer_weighting,
        )

    def config(self) -> dict:
        return {**super().config(), **self.loss.config()}
