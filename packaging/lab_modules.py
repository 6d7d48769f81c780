"""Which ``medeid_gui.lab`` modules the bundle carries: what ``medeid ml train`` can reach.

Why: sites train their own model from the installed app (Privacy > Train a privacy model on a
folder…, which runs ``medeid ml train ARCHIVE`` in a child process), but the rest of the research
side (cohort generator, paper evaluations, their scipy and matplotlib) stays out of the bundle.
The set is every lab module that ``lab.train_method`` imports, directly or through another lab
module, at module level or inside a function (parsed, as PyInstaller's own analysis does), so a
new import on the training path comes along by itself.  ``medeid ml`` lists only the
sub-commands whose module is present (cli/ml_cmd.py), so the bundle offers ``ml train`` alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

ENTRY = "medeid_gui.lab.train_method"
PACKAGE = "medeid_gui.lab"


def _path(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for p in (base.with_suffix(".py"), base / "__init__.py"):
        if p.is_file():
            return p
    return None


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def needed(root: Path, entry: str = ENTRY) -> list[str]:
    """The lab modules ``entry`` reaches (with the package itself), sorted; ``root``: the repo."""
    seen: set[str] = set()
    todo = [PACKAGE, entry]
    while todo:
        mod = todo.pop()
        path = _path(root, mod)
        if mod in seen or path is None:
            continue
        seen.add(mod)
        todo += [m for m in _imports(path) if m == PACKAGE or m.startswith(PACKAGE + ".")]
    return sorted(seen)


def left_out(root: Path, entry: str = ENTRY) -> list[str]:
    """Every other lab module (the spec's excludes)."""
    keep = set(needed(root, entry))
    pkg = root.joinpath(*PACKAGE.split("."))
    every = {f"{PACKAGE}.{p.stem}" for p in pkg.glob("*.py") if p.stem != "__init__"}
    return sorted(every - keep)


if __name__ == "__main__":
    here = Path(__file__).resolve().parents[1]
    print("in the bundle:", *needed(here), sep="\n  ")
    print("left out:", *left_out(here), sep="\n  ")
