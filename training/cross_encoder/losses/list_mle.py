"""ListMLELoss: the Plackett-Luce likelihood of the input order (Xia et al., 2008)."""

from __future__ import annotations

from torch import nn

from ..activation import IDENTITY
from .plist_mle import PListMLELoss


class ListMLELoss(PListMLELoss):
    """PListMLELoss with every position weighing the same."""

    def __init__(
        self,
        model: nn.Module,
        activation_fn: nn.Module | None = IDENTITY,
        mini_batch_size: int | None = None,
        respect_input_order: bool = True,
    ) -> None:
        super().__init__(
            model,
            lambda_weight=None,
            activation_fn=activation_fn,
            mini_batch_size=mini_batch_size,
            respect_input_order=respect_input_order,
        )

    def config(self) -> dict:
        config = super().config()
        del config["lambda_weight"]
        return config
