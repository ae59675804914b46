"""RankNetLoss: LambdaLoss with every document pair weighing the same (Burges et al., 2005)."""

from __future__ import annotations

from typing import Literal

from torch import nn

from ..activation import IDENTITY
from .lambda_loss import LambdaLoss, NoWeightingScheme


class RankNetLoss(LambdaLoss):
    """Pairwise logistic loss over the (more relevant, less relevant) document pairs."""

    def __init__(
        self,
        model: nn.Module,
        k: int | None = None,
        sigma: float = 1.0,
        eps: float = 1e-10,
        reduction_log: Literal["natural", "binary"] = "binary",
        activation_fn: nn.Module | None = IDENTITY,
        mini_batch_size: int | None = None,
    ) -> None:
        super().__init__(
            model,
            weighting_scheme=NoWeightingScheme(),
            k=k,
            sigma=sigma,
            eps=eps,
            reduction_log=reduction_log,
            activation_fn=activation_fn,
            mini_batch_size=mini_batch_size,
        )

    def config(self) -> dict:
        config = super().config()
        del config["weighting_scheme"]
        return config
