"""Copy the licence texts of every Python distribution that went into the bundle.

Why from PyInstaller's own tables: only what was bundled has to be listed, and the bundle's pure
Python modules live inside an archive, not as files.  PyInstaller records the source path of
every module (``PYZ-*.toc``) and of every binary and data file (``COLLECT-*.toc``) under its work
folder; each source path under site-packages belongs to exactly one installed distribution, whose
``*.dist-info`` carries its licence files (LICENSE, COPYING, NOTICE, AUTHORS ...).

Writes ``<out>/<distribution>-<version>/<files>`` and ``<out>/README.txt`` (one line per component:
name, version, the licence its metadata declares).  CPython's own licence is added from the
interpreter that built the bundle.

    python3 packaging/collect_licences.py build/pyinstaller/medeid dist/medeid/licences
"""

from __future__ import annotations

import ast
import re
import shutil
import sys
import sysconfig
from importlib.metadata import Distribution, distributions
from pathlib import Path

LICENCE_NAME = re.compile(r"(LICEN[CS]E|COPYING|NOTICE|AUTHORS|COPYRIGHT)", re.IGNORECASE)


def toc_sources(workdir: Path) -> set[Path]:
    """Source paths of everything PyInstaller put into the bundle (modules, binaries, data)."""
    out: set[Path] = set()
    for toc in sorted(workdir.glob("PYZ-*.toc")) + sorted(workdir.glob("COLLECT-*.toc")):
        data = ast.literal_eval(toc.read_text(encoding="utf-8"))
        stack = [data]
        while stack:  # the tables are nested tuples/lists of (name, path, kind) entries
            item = stack.pop()
            if isinstance(item, (list, tuple)):
                if len(item) == 3 and all(isinstance(x, str) for x in item) and item[1].startswith("/"):
                    out.add(Path(item[1]))
                else:
                    stack.extend(item)
    return out


def owners(sources: set[Path]) -> dict[str, Distribution]:
    """Installed distributions that own at least one of ``sources``, keyed by name."""
    found: dict[str, Distribution] = {}
    resolved = {p.resolve() for p in sources}
    for dist in distributions():
        name = dist.metadata["Name"]
        if not name or name in found:
            continue
        for f in dist.files or ():
            try:
                if Path(dist.locate_file(f)).resolve() in resolved:
                    found[name] = dist
                    break
            except OSError:
                continue
    return found


def licence_files(dist: Distribution) -> list[Path]:
    files = []
    for f in dist.files or ():
        parts = Path(str(f)).parts
        if parts and parts[0].endswith(".dist-info") and LICENCE_NAME.search(Path(str(f)).name):
            path = Path(dist.locate_file(f))
            if path.is_file():
                files.append(path)
    return files


def declared_licence(dist: Distribution) -> str:
    md = dist.metadata
    expr = md.get("License-Expression")
    if expr:
        return expr
    text = (md.get("License") or "").strip()
    if text and "\n" not in text and len(text) < 80:
        return text
    classifiers = [c.split("::")[-1].strip() for c in md.get_all("Classifier") or [] if c.startswith("License ::")]
    return ", ".join(classifiers) or ("see files" if text else "not declared")


def collect(workdir: Path, out: Path) -> list[str]:
    """Copy the licence texts into ``out``; returns the README lines (also written)."""
    sources = toc_sources(workdir)
    if not sources:
        raise SystemExit(f"no PyInstaller tables (PYZ-*.toc, COLLECT-*.toc) in {workdir}")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    lines = []
    for name, dist in sorted(owners(sources).items(), key=lambda kv: kv[0].lower()):
        files = licence_files(dist)
        folder = out / f"{name}-{dist.version}"
        folder.mkdir()
        for path in files:
            shutil.copy2(path, folder / path.name)
        note = "" if files else "  (no licence file in its metadata: see its project page)"
        lines.append(f"{name} {dist.version}: {declared_licence(dist)}{note}")
    cpython = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    if cpython.is_file():
        folder = out / f"CPython-{sys.version.split()[0]}"
        folder.mkdir()
        shutil.copy2(cpython, folder / "LICENSE.txt")
        lines.append(f"CPython {sys.version.split()[0]}: PSF-2.0")
    header = ["Components bundled with medeid and the licences they declare.",
              "Each folder here holds the licence texts that component ships.", ""]
    (out / "README.txt").write_text("\n".join(header + lines) + "\n", encoding="utf-8")
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    lines = collect(Path(argv[0]), Path(argv[1]))
    print(f"licences of {len(lines)} components -> {argv[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
