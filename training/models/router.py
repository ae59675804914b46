"""Router (and its older name Asym): separate module stacks for queries and documents."""

from __future__ import annotations

import ast
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from ._files import read_json_object, write_json

CONFIG_NAME = "router_config.json"
# The feature that carries the chosen route from ``tokenize`` to ``forward``.
TASK_KEY = "task"
# Texts are the only modality here; routes keyed on modality match it as "text".
_TEXT = "text"


class Router(nn.Module):
    """Sends each batch through one of several module stacks, chosen by task (``"query"``,
    ``"document"``, ...), as sentence-transformers' Router does for text.

    Args:
        sub_modules: route name -> its modules (the first one tokenises).
        default_route: the route used without a task (else the first, with
            ``allow_empty_key``).
        allow_empty_key: let a batch without a task take the first route.
        route_mappings: (task, modality) -> route; None in either place matches anything.

    A route is resolved from (task, "text") as in sentence-transformers: exact mapping,
    (task, None), (None, "text"), (None, None), a route named like the task, a route named
    "text", then the default route. ``tokenize(texts, task=...)`` records the task in the
    features; ``forward`` reads it. Saved as ``router_config.json`` plus one folder per
    distinct module (``<route>_<i>_<Class>``).
    """

    # How sub-modules of any class are named, found and loaded: the module registry of
    # fastsbert.training.models.directory, which imports this module and installs the
    # registry here (an import back would be a cycle).
    registry: Any = None

    def __init__(
        self,
        sub_modules: dict[str, list[nn.Module]],
        default_route: str | None = None,
        allow_empty_key: bool = True,
        route_mappings: dict[tuple[str | None, Any], str] | None = None,
    ) -> None:
        super().__init__()
        if not sub_modules:
            raise ValueError("Router needs at least one route")
        if default_route is not None and default_route not in sub_modules:
            raise ValueError(
                f"default_route {default_route!r} is not among the routes {list(sub_modules)}"
            )
        for key, route in (route_mappings or {}).items():
            if route not in sub_modules:
                raise ValueError(
                    f"route_mappings maps {key} to {route!r}, which is not among {list(sub_modules)}"
                )
        self.sub_modules = nn.ModuleDict(
            {name: nn.Sequential(*mods) for name, mods in sub_modules.items()}
        )
        if default_route is None and allow_empty_key:
            default_route = next(iter(sub_modules))
        self.default_route = default_route
        self.allow_empty_key = bool(allow_empty_key)
        self.route_mappings = dict(route_mappings or {})

    @classmethod
    def for_query_document(
        cls,
        query_modules: list[nn.Module],
        document_modules: list[nn.Module],
        default_route: str | None = "document",
        allow_empty_key: bool = True,
    ) -> Router:
        """Routes ``query`` and ``document``; ``encode_query`` / ``encode_document`` pick them."""
        return cls(
            {"query": query_modules, "document": document_modules},
            default_route=default_route,
            allow_empty_key=allow_empty_key,
        )

    # ----------------------------------------------------------------- routing
    def resolve_route(self, task: str | None = None) -> str:
        """The route name for ``task`` (None: no task given); ``ValueError`` when none fits."""
        for key in ((task, _TEXT), (task, None), (None, _TEXT), (None, None)):
            if key in self.route_mappings:
                return self.route_mappings[key]
        if task and task in self.sub_modules:
            return task
        if _TEXT in self.sub_modules:
            return _TEXT
        if task is not None:
            raise ValueError(f"no route for task {task!r}; routes: {list(self.sub_modules)}")
        if self.default_route is None:
            raise ValueError(
                f"no task given and the Router has no default route; routes: {list(self.sub_modules)}"
            )
        return self.default_route

    def route(self, task: str | None = None) -> nn.Sequential:
        return self.sub_modules[self.resolve_route(task)]

    def tokenize(self, texts: Sequence[str], task: str | None = None, **kwargs) -> dict[str, Any]:
        features = dict(self.route(task)[0].tokenize(texts))
        features[TASK_KEY] = task
        return features

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        for module in self.route(features.get(TASK_KEY)):
            features = module(features)
        return features

    # ----------------------------------------------------------------- sizes
    def _first_answer(self, *names: str):
        for modules in self.sub_modules.values():
            for module in reversed(list(modules)):
                for name in names:
                    if hasattr(module, name):
                        return getattr(module, name)()
        return None

    def get_sentence_embedding_dimension(self) -> int | None:
        return self._first_answer(
            "get_sentence_embedding_dimension", "get_word_embedding_dimension"
        )

    get_embedding_dimension = get_sentence_embedding_dimension

    @property
    def max_seq_length(self):
        lengths = {getattr(r[0], "max_seq_length", None) for r in self.sub_modules.values()} - {
            None
        }
        return max(lengths) if lengths else None

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        for modules in self.sub_modules.values():
            if hasattr(modules[0], "max_seq_length"):
                modules[0].max_seq_length = value

    @property
    def tokenizer(self):
        for modules in self.sub_modules.values():
            tok = getattr(modules[0], "tokenizer", None)
            if tok is not None:
                return tok
        return None

    # ----------------------------------------------------------------- files
    def get_config_dict(self) -> dict:
        return {
            "default_route": self.default_route,
            "allow_empty_key": self.allow_empty_key,
            "route_mappings": {str(k): v for k, v in self.route_mappings.items()},
        }

    def save(self, path: str | os.PathLike) -> None:
        classic_type_name = self.registry.classic_type_name
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        ids: dict[int, str] = {}
        types: dict[str, str] = {}
        structure: dict[str, list[str]] = {}
        for name, modules in self.sub_modules.items():
            structure[name] = []
            for i, module in enumerate(modules):
                if id(module) not in ids:  # a module shared by routes is stored once
                    ids[id(module)] = f"{name}_{i}_{type(module).__name__}"
                    types[ids[id(module)]] = classic_type_name(module)
                    module.save(path / ids[id(module)])
                structure[name].append(ids[id(module)])
        write_json(
            path / CONFIG_NAME,
            {"types": types, "structure": structure, "parameters": self.get_config_dict()},
        )

    @classmethod
    def load(cls, path: str | os.PathLike, model_args: dict[str, Any] | None = None) -> Router:
        load_module, module_class = cls.registry.load_module, cls.registry.module_class
        path = Path(path)
        file = path / CONFIG_NAME
        if not file.is_file() and (path / "config.json").is_file():
            file = path / "config.json"  # the name older releases used
        cfg = read_json_object(file, what="Router config")
        types, structure = cfg.get("types"), cfg.get("structure")
        if not isinstance(types, dict) or not isinstance(structure, dict) or not structure:
            raise ValueError(f"{file}: Router config needs 'types' and 'structure' objects")
        modules = {}
        for module_id, type_name in types.items():
            if Path(module_id).is_absolute() or ".." in Path(module_id).parts:
                raise ValueError(f"{file}: module folder {module_id!r} leaves the model directory")
            modules[module_id] = load_module(
                module_class(type_name, file), path / module_id, model_args
            )
        routes = {}
        for name, ids in structure.items():
            missing = [m for m in ids if m not in modules]
            if missing:
                raise ValueError(
                    f"{file}: route {name!r} names modules {missing} that 'types' does not list"
                )
            routes[name] = [modules[m] for m in ids]
        params = dict(cfg.get("parameters") or {})
        mappings = {}
        for key, route in (params.pop("route_mappings", None) or {}).items():
            try:
                mappings[ast.literal_eval(key)] = route
            except (ValueError, SyntaxError):
                raise ValueError(
                    f"{file}: route_mappings key {key!r} is not a (task, modality) pair"
                ) from None
        try:
            return cls(routes, route_mappings=mappings or None, **params)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{file}: {exc}") from exc


Asym = Router
