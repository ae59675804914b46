"""The package's modules import each other without a cycle: model preparation runs one
way (resolve -> build -> variants -> guard -> the entry point Encoder calls).

Every module under python/fastsbert (and training/, shipped as fastsbert.training) is
parsed with ``ast``; each ``import`` / ``from ... import`` naming a fastsbert module, at
module level or inside a function (a lazy import is still an edge), is an edge."""

from __future__ import annotations

import ast
from pathlib import Path

from build_helpers import REPO_ROOT

ROOTS = {"fastsbert": REPO_ROOT / "python" / "fastsbert",
         "fastsbert.training": REPO_ROOT / "training"}


def _modules() -> dict[str, Path]:
    found = {}
    for package, root in ROOTS.items():
        # .pyi: the native module _core, known by its stub
        for path in [*root.rglob("*.py"), *root.rglob("*.pyi")]:
            if path.suffix == ".pyi" and path.with_suffix(".py").exists():
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


def _target(name: str, modules: dict[str, Path]) -> str | None:
    """The module an imported dotted name belongs to: the longest known prefix."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the fastsbert modules it imports (a package importing its own submodule
    counts; a submodule's implicit import of its parent package does not)."""
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        package = module if is_package else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package
                    for _ in range(node.level - 1):
                        base = base.rpartition(".")[0]
                    base = f"{base}.{node.module}" if node.module else base
                else:
                    base = node.module or ""
                # `from X import y`: y may be a submodule of X, else a name inside X.
                names = [f"{base}.{a.name}" for a in node.names]
            for name in names:
                target = _target(name, modules)
                if target is not None and target != module:
                    edges[module].add(target)
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle():
    modules = _modules()
    assert "fastsbert.prepare" in modules and "fastsbert.training.models.directory" in modules
    cycle = find_cycle(import_edges(modules))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_preparation_pipeline_runs_downward():
    edges = import_edges(_modules())
    # Each module imports only modules before it in this list: the directory format, the
    # resolver, the guard and the variants it admits, the two roads that build a graph
    # (fastsbert.export may add a variant), the entry point, the Encoder.
    order = ["fastsbert.export_format", "fastsbert.model_cache", "fastsbert.guard",
             "fastsbert.quantize", "fastsbert.graft", "fastsbert.exporter", "fastsbert.prepare",
             "fastsbert.encoder"]
    for i, module in enumerate(order):
        later = set(order[i + 1:])
        assert not edges[module] & later, f"{module} imports {sorted(edges[module] & later)}"
    assert "fastsbert.encoder" not in edges["fastsbert.guard"]  # the guard runs on _core


def test_the_checker_finds_a_planted_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(edges) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
