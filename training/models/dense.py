"""Dense: a projection of the sentence embedding, (batch, in_features) -> (batch, out_features)."""

from __future__ import annotations

import contextlib
import importlib
import os
from pathlib import Path

import torch
from torch import Tensor, nn

from ..errors import UnsupportedModelError
from ._files import read_json_object, write_json

_FEATURE = "sentence_embedding"
_DEFAULT_ACTIVATION = "torch.nn.modules.activation.Tanh"


def activation_name(act: nn.Module) -> str:
    cls = type(act)
    return f"{cls.__module__}.{cls.__qualname__}"


def activation_from_name(name: str) -> nn.Module:
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
    """``activation_function(linear(x))`` on ``features["sentence_embedding"]``, plus ``x``
    (or a bias-free projection of it) when ``use_residual``.

    Args:
        in_features, out_features: sizes of the input and output embeddings.
        bias: whether the linear layer has a bias.
        activation_function: a torch.nn module; None means identity (default tanh).
        init_weight, init_bias: initial values of the linear layer.
        use_residual: add the input back (projected when the sizes differ).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation_function: nn.Module | None = nn.Tanh(),  # noqa: B008 (stateless)
        init_weight: Tensor | None = None,
        init_bias: Tensor | None = None,
        use_residual: bool = False,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.bias = bias
        self.use_residual = use_residual
        self.activation_function = (
            nn.Identity() if activation_function is None else activation_function
        )
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        if use_residual and in_features != out_features:
            self.residual = nn.Linear(in_features, out_features, bias=False)
        if init_weight is not None:
            self.linear.weight = nn.Parameter(init_weight)
        if init_bias is not None and bias:
            self.linear.bias = nn.Parameter(init_bias)

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        x = features[_FEATURE]
        y = self.activation_function(self.linear(x))
        if self.use_residual:
            y = y + (x if self.in_features == self.out_features else self.residual(x))
        features[_FEATURE] = y
        return features

    def get_sentence_embedding_dimension(self) -> int:
        return self.out_features

    def get_config_dict(self) -> dict:
        cfg = {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias,
            "activation_function": activation_name(self.activation_function),
        }
        if self.use_residual:  # written only when set, so that releases without it still load
            cfg["use_residual"] = True
        return cfg

    def __repr__(self) -> str:
        return f"Dense({self.get_config_dict()})"

    def save(self, path: str | os.PathLike) -> None:
        from safetensors.torch import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        write_json(path / "config.json", self.get_config_dict())
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(path / "model.safetensors"))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Dense:
        """Reads ``config.json`` and ``model.safetensors`` (or ``pytorch_model.bin``)."""
        path = Path(path)
        file = path / "config.json"
        cfg = read_json_object(file, what="Dense module config")
        for key in ("in_features", "out_features"):
            if not isinstance(cfg.get(key), int):
                raise ValueError(f"{file}: Dense config lacks {key!r}")
        for key in ("module_input_name", "module_output_name"):
            if cfg.get(key) not in (None, _FEATURE):
                raise UnsupportedModelError(
                    f"{path}: Dense on {cfg[key]!r} is not supported, only on {_FEATURE!r}"
                )
        weights = path / "model.safetensors"
        legacy = path / "pytorch_model.bin"
        if not weights.is_file() and not legacy.is_file():
            raise FileNotFoundError(
                f"{path}: missing model.safetensors (or pytorch_model.bin) for Dense"
            )
        dense = cls(
            cfg["in_features"],
            cfg["out_features"],
            bias=bool(cfg.get("bias", True)),
            activation_function=activation_from_name(
                cfg.get("activation_function") or _DEFAULT_ACTIVATION
            ),
            use_residual=bool(cfg.get("use_residual", False)),
        )
        if weights.is_file():
            from safetensors.torch import load_file

            state = load_file(str(weights))
        else:
            state = torch.load(legacy, map_location="cpu", weights_only=True)
        try:
            # Copying into the float32 parameters also widens half-precision weights.
            dense.load_state_dict({k: v for k, v in state.items() if k != "activation_function"})
        except RuntimeError as exc:
            raise ValueError(f"{path}: Dense weights do not match its config.json: {exc}") from exc
        return dense
