"""AdaptiveLayerLoss: train the early encoder layers to give usable embeddings too."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .base import Loss
from .matryoshka import require_embedding_loss


class AdaptiveLayerLoss(Loss):
    """``last_layer_weight * loss(final) + prior_layers_weight * mean_l w(l) * loss(layer l)``
    plus, with ``kl_temperature > 0``, ``kl_temperature * kl_div_weight * KL`` from each
    layer's softmax(embeddings / T) to the final layer's.

    Embeddings of layer l are the model's pooling (and Dense/Normalize) applied to hidden
    state l, where hidden state 0 is the embedding layer. ``n_layers_per_step > 0`` draws
    that many of the non-final layers at random (Python's ``random``) at each step.
    Takes the data of the wrapped ``loss``.
    """

    def __init__(
        self,
        model: nn.Module,
        loss: nn.Module,
        n_layers_per_step: int = 1,
        last_layer_weight: float = 1.0,
        prior_layers_weight: float = 1.0,
        kl_div_weight: float = 1.0,
        kl_temperature: float = 0.3,
        layer_weighting: str | Callable[[int], float] = "uniform",
    ) -> None:
        super().__init__(model)
        require_embedding_loss(type(self).__name__, loss)
        if getattr(loss, "uses_gradient_cache", False):
            raise ValueError(
                f"{type(self).__name__} cannot wrap {type(loss).__name__}, which uses gradient caching"
            )
        if not callable(layer_weighting) and layer_weighting not in ("uniform", "log", "linear"):
            raise ValueError(
                f"layer_weighting must be 'uniform', 'log', 'linear' or a callable, got {layer_weighting!r}"
            )
        self.loss = loss
        self.n_layers_per_step = n_layers_per_step
        self.last_layer_weight = last_layer_weight
        self.prior_layers_weight = prior_layers_weight
        self.kl_div_weight = kl_div_weight
        self.kl_temperature = kl_temperature
        self.layer_weighting = layer_weighting
        self.min_columns, self.max_columns = loss.min_columns, loss.max_columns
        self.label_kind, self.data_shape = loss.label_kind, loss.data_shape

    def get_layer_weight(self, layer: int) -> float:
        if callable(self.layer_weighting):
            return self.layer_weighting(layer)
        if self.layer_weighting == "log":
            return 1.0 / (1.0 + math.log(1 + layer))
        if self.layer_weighting == "linear":
            return 1.0 / (1 + layer)
        return 1.0

    def forward(self, features, labels):
        features = list(features)
        self.loss.check_inputs(
            len(features), labels, features[0]["input_ids"].shape[0] if features else None
        )
        extra = self.loss.prepare(features)
        per_column = [self.model.forward_all_layers(f) for f in features]  # columns x (layers + 1)
        final = [layers[-1] for layers in per_column]
        loss = (
            self.loss.compute_loss_from_embeddings(final, labels, **extra) * self.last_layer_weight
        )
        if self.kl_temperature > 0:
            target = F.softmax(torch.cat(final) / self.kl_temperature, dim=-1).detach()
        n_states = len(per_column[0])
        indices = list(range(n_states - 1))
        if 0 < self.n_layers_per_step < n_states - 1:
            indices = random.sample(indices, self.n_layers_per_step)
        for layer in indices:
            embs = [layers[layer] for layers in per_column]
            layer_loss = self.loss.compute_loss_from_embeddings(embs, labels, **extra)
            loss = (
                loss
                + layer_loss
                * self.get_layer_weight(layer)
                / len(indices)
                * self.prior_layers_weight
            )
            if self.kl_temperature > 0:
                log_p = F.log_softmax(torch.cat(embs) / self.kl_temperature, dim=-1)
                loss = (
                    loss
                    + F.kl_div(log_p, target, reduction="batchmean")
                    * self.kl_temperature
                    * self.kl_div_weight
                )
        return loss

    def config(self) -> dict:
        weighting = (
            self.layer_weighting
            if isinstance(self.layer_weighting, str)
            else getattr(self.layer_weighting, "__name__", "custom")
        )
        return {
            "loss": type(self.loss).__name__,
            "n_layers_per_step": self.n_layers_per_step,
            "last_layer_weight": self.last_layer_weight,
            "prior_layers_weight": self.prior_layers_weight,
            "kl_div_weight": self.kl_div_weight,
            "kl_temperature": self.kl_temperature,
            "layer_weighting": weighting,
        }
