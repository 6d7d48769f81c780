"""Size of a one-folder bundle by component (what ``du`` says, grouped by what it belongs to).

Why: the bundle's size is decided by a few big components (torch, Qt, OpenCV, onnxruntime); a
table by component shows what each trimming step removed.  Compare two builds with --before.

    python3 packaging/bundle_sizes.py dist/medeid [--json out.json] [--before old.json]
"""

from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path

#: first path component under _internal -> component (anything else counts as its own name)
GROUPS = {
    "torch": "torch", "torchgen": "torch", "functorch": "torch",
    "PySide6": "Qt (PySide6)", "shiboken6": "Qt (PySide6)",
    "cv2": "OpenCV", "opencv_python_headless.libs": "OpenCV", "opencv_python.libs": "OpenCV",
    "onnxruntime": "onnxruntime", "numpy": "numpy", "numpy.libs": "numpy", "scipy": "scipy",
    "scipy.libs": "scipy", "sympy": "sympy", "rapidocr": "rapidocr (OCR models)", "models": "medeid models",
    "resources": "medeid resources", "pydicom": "pydicom", "PIL": "Pillow", "pillow.libs": "Pillow",
    "shapely": "shapely", "shapely.libs": "shapely", "python3.11": "Python stdlib", "base_library.zip": "Python stdlib",
    "lib-dynload": "Python stdlib", "licences": "licence texts",
}


def _size(path: Path) -> int:
    if path.is_symlink():
        return 0
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            p = os.path.join(root, f)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def sizes(bundle: Path) -> dict[str, int]:
    """Bytes per component; the executables and the archive PYZ inside them count as 'executables'."""
    out: dict[str, int] = defaultdict(int)
    internal = bundle / "_internal"
    for entry in bundle.iterdir():
        if entry != internal:
            out["executables (+ Python code archive)" if entry.is_file() else entry.name] += _size(entry)
    if internal.is_dir():
        for entry in internal.iterdir():
            name = entry.name
            group = GROUPS.get(name) or next((g for k, g in GROUPS.items() if name.startswith(k + "-")), None)
            if group is None and name.endswith(".dist-info"):
                group = "package metadata"
            if group is None and name.startswith("lib") and ".so" in name:
                group = "shared libraries (top level)"
            out[group or name] += _size(entry)
    return dict(out)


def table(now: dict[str, int], before: dict[str, int] | None = None, top: int = 18) -> str:
    mb = 1024 * 1024
    keys = sorted(set(now) | set(before or {}), key=lambda k: -max(now.get(k, 0), (before or {}).get(k, 0)))
    shown, rest = keys[:top], keys[top:]
    lines = ["| component | before MB | after MB |" if before else "| component | MB |",
             "|---|---:|---:|" if before else "|---|---:|"]
    def row(name: str, a: int, b: int) -> str:
        return f"| {name} | {b / mb:.1f} | {a / mb:.1f} |" if before is not None else f"| {name} | {a / mb:.1f} |"
    for k in shown:
        lines.append(row(k, now.get(k, 0), (before or {}).get(k, 0)))
    if rest:
        lines.append(row(f"other ({len(rest)})", sum(now.get(k, 0) for k in rest),
                         sum((before or {}).get(k, 0) for k in rest)))
    lines.append(row("**total**", sum(now.values()), sum((before or {}).values())))
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bundle", type=Path)
    p.add_argument("--json", type=Path, help="also write the sizes here")
    p.add_argument("--before", type=Path, help="sizes of an earlier build (--json of that build)")
    a = p.parse_args()
    now = sizes(a.bundle)
    before = json.loads(a.before.read_text()) if a.before else None
    print(table(now, before))
    if a.json:
        a.json.write_text(json.dumps(now, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
