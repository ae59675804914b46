"""Dense projection head: (batch, in_features) -> (batch, out_features)."""

from __future__ import annotations

import contextlib
import importlib

from torch import Tensor, nn


def _activation_name(act: nn.Module) -> str:
    cls = type(act)
    return f"{cls.__module__}.{cls.__qualname__}"


def _activation_from_name(name: str) -> nn.Module:
    """Instantiates the activation a Dense config names, e.g.
    ``torch.nn.modules.activation.Tanh`` or ``torch.nn.GELU``.

    Only ``torch.nn.Module`` subclasses from ``torch.nn`` are allowed, as in
    sentence-transformers without ``trust_remote_code``: a config from a downloaded model
    must not be able to import or call anything else (``os.system``,
    ``torch.nn.functional.relu``, ``torch.load``). Raises ``ValueError`` naming ``name``.
    """
    module_name, _, cls_name = name.rpartition(".") if isinstance(name, str) else ("", "", "")
    cls = None
    if module_name == "torch.nn" or module_name.startswith("torch.nn."):
        with contextlib.suppress(ImportError, AttributeError):
            found = getattr(importlib.import_module(module_name), cls_name)
            if isinstance(found, type) and issubclass(found, nn.Module):
                cls = found
    if cls is None:
        raise ValueError(
            f"Dense activation_function {name!r} is not a torch.nn module class; "
            "only torch.nn activations (e.g. torch.nn.modules.activation.Tanh) are loaded"
        )
    try:
        return cls()
    except TypeError as exc:  # a module class that needs arguments, such as torch.nn.Linear
        raise ValueError(
            f"Dense activation_function {name!r} cannot be built without arguments: {exc}"
        ) from exc


class Dense(nn.Module):
    """A linear layer followed by an activation (``tanh`` by default, as in sentence-transformers)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation_function: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.bias = bias
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        self.activation_function = nn.Tanh() if activation_function is None else activation_function

    def forward(self, x: Tensor) -> Tensor:
        return self.activation_function(self.linear(x))

    def config(self) -> dict:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias,
            "activation_function": _activation_name(self.activation_function),
        }

    @classmethod
    def from_config(cls, cfg: dict) -> Dense:
        act = _activation_from_name(
            cfg.get("activation_function", "torch.nn.modules.activation.Tanh")
        )
        return cls(
            cfg["in_features"],
            cfg["out_features"],
            bias=cfg.get("bias", True),
            activation_function=act,
        )
