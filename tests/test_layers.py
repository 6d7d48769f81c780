"""Layer rules, read from the source (ast) and checked at run time (a fresh interpreter).

Why both: the parsed imports catch every import statement, also the ones inside functions that
only run on some paths (a lazy ``import medeid_gui.app`` in ui/ would pass a run-time check that
never calls it); the run-time check catches what parsing cannot see (a module that pulls torch or
Qt in through a third package at import time).
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import medeid_gui

PACKAGE_DIR = Path(medeid_gui.__file__).parent

#: top-level part of medeid_gui -> the parts it may import.  Every part must be listed here, so a
#: new package is placed in the layers on purpose.  ``_resources`` and the package root are
#: reachable from everywhere.
ALLOWED: dict[str, set[str]] = {
    "dicom": set(),
    "deid": {"dicom"},
    "ml": {"dicom"},
    "pixels": {"dicom", "ml"},
    "export": {"dicom", "deid", "ml", "pixels"},
    "lab": {"dicom", "ml"},  # the research side branch: nothing imports it but `medeid ml` (by name)
    "viewmodel": {"dicom", "deid", "ml", "pixels", "export"},  # the app's headless state
    "cli": {"buildinfo", "dicom", "deid", "ml", "pixels", "export"},
    "ui": {"buildinfo", "dicom", "deid", "ml", "pixels", "export", "viewmodel"},
    "app": {"buildinfo", "ui", "viewmodel", "dicom", "deid", "ml", "pixels", "export"},  # the composition root
    "__main__": {"cli"},
    "_resources": set(),
    "buildinfo": {"ml"},  # version, commit, models and their domains for --version and the About box
}
QT = ("PySide6", "pyqtgraph", "superqt")
QT_PARTS = {"ui", "app"}


# -- parsing -------------------------------------------------------------------------------------

def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE_DIR.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def part_of(module: str) -> str:
    """``medeid_gui.ui.viewer`` -> ``ui``; the package itself -> ``<root>``."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "<root>"


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:`` (annotations only, never run)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                inside.update(id(n) for n in ast.walk(stmt))
    return inside


def imports_of(module: str, source: str, *, is_package: bool = False,
               runtime_only: bool = False) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import statement, at any depth, relative ones resolved.

    ``from pkg import name`` yields ``pkg.name`` too, since ``name`` may be a submodule.
    ``runtime_only`` leaves out imports under ``if TYPE_CHECKING:`` (they cannot form a loop).
    """
    package = module if is_package else module.rpartition(".")[0]
    tree = ast.parse(source)
    skip = _type_checking_nodes(tree) if runtime_only else set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"


def violations(module: str, source: str, *, is_package: bool = False) -> list[str]:
    """What ``module`` (with this source) imports against the layer rules."""
    own = part_of(module)
    out: list[str] = []
    for line, target in imports_of(module, source, is_package=is_package):
        top = target.split(".")[0]
        if top in QT and own not in QT_PARTS:
            out.append(f"{module}:{line} imports {target} (Qt only in ui/ and app.py)")
        if top != "medeid_gui":
            continue
        other = part_of(target)
        if other in (own, "<root>", "_resources") or other not in ALLOWED:
            continue  # ``from medeid_gui import x`` names are judged as medeid_gui.x
        if other not in ALLOWED.get(own, set()):
            out.append(f"{module}:{line} imports {target} ({own} may not import {other})")
    return out


def source_modules() -> dict[str, tuple[Path, bool]]:
    return {module_name(p): (p, p.name == "__init__.py") for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def import_graph() -> dict[str, set[str]]:
    """Module -> the medeid_gui modules it imports at run time (statements at any depth)."""
    mods = source_modules()
    graph: dict[str, set[str]] = {}
    for mod, (path, is_pkg) in mods.items():
        source = path.read_text(encoding="utf-8")
        targets = {t for _, t in imports_of(mod, source, is_package=is_pkg, runtime_only=True)}
        graph[mod] = {t for t in targets if t in mods and t != mod}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def _package_inits_only(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Drop edges into a package's own ``__init__`` from its submodules (``from . import x``
    resolves to the package, which is how Python finds the sibling, not an import of the init)."""
    return {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}


# -- the rules, on the real tree -----------------------------------------------------------------

def test_every_part_is_placed_in_the_layers() -> None:
    parts = {part_of(m) for m in source_modules()} - {"<root>"}
    assert parts <= set(ALLOWED), f"unplaced packages: {sorted(parts - set(ALLOWED))}"


def test_imports_follow_the_layers() -> None:
    bad = [v for mod, (path, is_pkg) in source_modules().items()
           for v in violations(mod, path.read_text(encoding="utf-8"), is_package=is_pkg)]
    assert not bad, "\n".join(bad)


def test_no_import_loops() -> None:
    loops = cycles(_package_inits_only(import_graph()))
    assert not loops, f"import loops (function-level imports count): {loops}"


# -- the checker catches what it must (planted sources) ------------------------------------------

@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("medeid_gui.ui.viewer", "import medeid_gui.app\n"),
        ("medeid_gui.ui.viewer", "def f():\n    from .. import app\n"),
        ("medeid_gui.lab.attacker", "import medeid_gui.export\n"),
        ("medeid_gui.lab.attacker", "def f():\n    from ..export.pipeline import run_export\n"),
        ("medeid_gui.export.worker", "from PySide6.QtCore import QObject\n"),
        ("medeid_gui.deid.engine", "from medeid_gui.pixels import clean\n"),
        ("medeid_gui.cli.export_cmd", "from medeid_gui.ui import main_window\n"),
        ("medeid_gui.dicom.read", "from ..deid.engine import Deidentifier\n"),
    ],
)
def test_planted_violation_is_found(module: str, source: str) -> None:
    assert violations(module, source)


def test_allowed_imports_pass() -> None:
    assert not violations("medeid_gui.export.worker", "from ..pixels.clean import PixelRequest\n")
    assert not violations("medeid_gui.ui.viewer", "import pyqtgraph\nfrom medeid_gui.ml import privacy\n")
    assert not violations("medeid_gui.lab.attacker", "from ..ml.device import pick_device\n")


def test_type_only_imports_form_no_loop() -> None:
    src = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .main_window import MainWindow\n"
    found = list(imports_of("medeid_gui.ui.actions", src, runtime_only=True))
    assert found == [(1, "typing"), (1, "typing.TYPE_CHECKING")]
    assert "medeid_gui.ui.main_window" in {t for _, t in imports_of("medeid_gui.ui.actions", src)}


def test_planted_loop_is_found() -> None:
    graph = {"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "a.w": {"a.x"}}
    assert cycles(graph) == [["a.x", "a.y", "a.z"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


# -- what is loaded at run time ------------------------------------------------------------------

#: package -> modules that must not be loaded after importing every module of it
RUNTIME_RULES = {
    "medeid_gui.dicom": QT + ("torch",),
    "medeid_gui.deid": QT + ("torch",),
    "medeid_gui.export": QT + ("torch",),
    "medeid_gui.pixels": QT + ("torch",),
    "medeid_gui.ml": QT + ("torch",),
    "medeid_gui.lab": QT,
    "medeid_gui.cli": QT + ("torch", "medeid_gui.ui"),
    "medeid_gui.viewmodel": QT + ("torch",),
}
#: modules that import torch at their top on purpose; only ml's lazy loader imports them
TORCH_MODULES = {"medeid_gui.ml.networks"}


def _modules_of(package: str) -> list[str]:
    pkg = __import__(package, fromlist=["__path__"])
    names = [package]
    for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
        if info.name not in TORCH_MODULES:
            names.append(info.name)
    return names


@pytest.mark.parametrize("package", sorted(RUNTIME_RULES))
def test_layer_imports(package: str) -> None:
    mods = _modules_of(package)
    code = (
        "import importlib, json, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    bad = sorted(m for m in loaded for f in RUNTIME_RULES[package] if m == f or m.startswith(f + "."))
    assert not bad, f"{package} pulls in {bad}"
    assert medeid_gui.__version__
