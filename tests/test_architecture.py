"""The package's structure (issue 17, docs/architecture.md): no import circle between its
modules, imports only down the documented layers (so the chip is independent of training
and of the torch neurons), the layer names spelt in one module. Read from the source with
``ast``, so lazy imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bruno_hil

PACKAGE_DIR = Path(bruno_hil.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE_DIR.rglob("*.py")}


def imported_modules(name: str) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its source. ``from pkg
    import sub`` counts as importing ``pkg.sub`` (and ``pkg`` only for names that are not
    submodules)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            subs = {f"{target}.{a.name}" for a in node.names} & MODULES.keys()
            found |= subs
            if len(subs) < len(node.names) and target in MODULES:
                found.add(target)
    return found - {name}


GRAPH = {name: imported_modules(name) for name in MODULES}


def import_circles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            component.append(v)
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return circles


def test_the_graph_sees_the_imports_it_must() -> None:
    # the check below is only as good as the parser: known edges must be found
    assert "bruno_hil.chip.layers" in GRAPH["bruno_hil.chip.settings"]
    assert "bruno_hil.chip" in GRAPH["bruno_hil.training.loop"]
    assert len(MODULES) > 80


def test_no_module_import_circle() -> None:
    assert import_circles() == []


@pytest.mark.parametrize("forbidden", ["bruno_hil.training", "bruno_hil.neurons"])
def test_the_chip_does_not_import_training_or_the_neurons(forbidden: str) -> None:
    offenders = {
        (name, dep)
        for name, deps in GRAPH.items()
        if name.startswith("bruno_hil.chip")
        for dep in deps
        if dep == forbidden or dep.startswith(forbidden + ".")
    }
    assert offenders == set()


LAYER_ORDER: list[tuple[str, ...]] = [
    ("cli",),
    ("training",),
    ("calibration",),
    ("emulator",),
    ("chip",),
    ("neurons", "synapses"),
    ("characterize",),
    ("physics",),
    ("devices",),
    ("spice", "instruments", "datasets", "folders"),
    ("settings",),
    ("errors",),
]
"""docs/architecture.md's layers, top to bottom: imports only point down this list."""
RANK = {f"bruno_hil.{name}": rank for rank, names in enumerate(LAYER_ORDER) for name in names}


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_every_package_has_a_place_in_the_layers() -> None:
    packages = {package_of(name) for name in MODULES} - {"bruno_hil"}
    assert packages == set(RANK)


def test_imports_only_point_down_the_layers() -> None:
    upward = sorted(
        (name, dep)
        for name, deps in GRAPH.items()
        if package_of(name) in RANK
        for dep in deps
        if package_of(dep) in RANK and RANK[package_of(dep)] < RANK[package_of(name)]
    )
    assert upward == []


def test_layer_names_are_spelt_in_one_module() -> None:
    spelt_in = {
        name
        for name, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value in ("syn_in", "syn_out")
    }
    assert spelt_in == {"bruno_hil.chip.layers"}
