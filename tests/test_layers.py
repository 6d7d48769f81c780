"""Layer rules: the core imports neither Qt nor torch; cli never imports ui.

Each check runs in a fresh interpreter so earlier imports in the test process cannot hide a leak.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import medeid_gui

QT = ("PySide6", "pyqtgraph", "superqt")

#: package -> modules that must not be loaded after importing every module of it
RULES = {
    "medeid_gui.dicom": QT + ("torch",),
    "medeid_gui.deid": QT + ("torch",),
    "medeid_gui.export": QT + ("torch",),
    "medeid_gui.pixels": QT + ("torch",),
    "medeid_gui.ml": QT + ("torch",),
    "medeid_gui.lab": QT,
    "medeid_gui.cli": QT + ("torch", "medeid_gui.ui"),
}


def _modules_of(package: str) -> list[str]:
    pkg = __import__(package, fromlist=["__path__"])
    names = [package]
    for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
        names.append(info.name)
    return names


@pytest.mark.parametrize("package", sorted(RULES))
def test_layer_imports(package: str) -> None:
    mods = _modules_of(package)
    code = (
        "import importlib, json, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    bad = sorted(m for m in loaded for f in RULES[package] if m == f or m.startswith(f + "."))
    assert not bad, f"{package} pulls in {bad}"


def test_lower_layers_do_not_import_upper() -> None:
    order = ["dicom", "deid", "ml", "pixels", "export", "lab"]
    for i, low in enumerate(order):
        for mod in _modules_of(f"medeid_gui.{low}"):
            spec = __import__(mod, fromlist=["__file__"])
            src = open(spec.__file__, encoding="utf-8").read()
            for high in order[i + 1 :] + ["ui", "cli", "app"]:
                if high == "lab" and low == "lab":
                    continue
                assert f"medeid_gui.{high}" not in src and f"from ..{high}" not in src, (
                    f"{mod} imports upper layer {high}"
                )
    assert medeid_gui.__version__
