"""The activation a cross-encoder applies to its logits, and how its name is stored.

Names are sentence-transformers' (the class's full import path, e.g.
``torch.nn.modules.activation.Sigmoid``). Only ``torch.*`` classes are ever imported from a
stored name: a config file from elsewhere must not choose which code runs.
"""

from __future__ import annotations

import importlib
import logging

from torch import nn

logger = logging.getLogger(__name__)


# Stateless defaults shared by the losses' signatures (sentence-transformers' defaults).
IDENTITY = nn.Identity()
SIGMOID = nn.Sigmoid()


def activation_name(fn) -> str | None:
    """The stored name of ``fn``: ``module.ClassName`` of its class."""
    if fn is None:
        return None
    cls = fn if isinstance(fn, type) else type(fn)
    return f"{cls.__module__}.{cls.__qualname__}"


def activation_from_name(name: str | None, *, where: str) -> nn.Module | None:
    """The activation a stored name refers to, or ``None`` (with a warning) when the name is
    not a ``torch.*`` class that can be built without arguments."""
    if not name:
        return None
    module_name, _, class_name = str(name).rpartition(".")
    if not module_name.startswith("torch."):
        logger.warning("%s: activation %r is not a torch class; using the default", where, name)
        return None
    try:
        return getattr(importlib.import_module(module_name), class_name)()
    except (ImportError, AttributeError, TypeError) as exc:
        logger.warning("%s: cannot build activation %r (%s); using the default", where, name, exc)
        return None


def default_activation(num_labels: int) -> nn.Module:
    """sentence-transformers' rule: sigmoid for one label, identity for several."""
    return nn.Sigmoid() if num_labels == 1 else nn.Identity()
