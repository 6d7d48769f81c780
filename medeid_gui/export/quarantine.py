"""``--quarantine DIR``: copies of the inputs that failed, for a person to inspect.

Why copies and a CSV: the failing original stays where it was (inputs are never touched); the
copy keeps the path relative to the input folder so the archive structure is recognisable, and
``quarantine.csv`` says why each file is there. The quarantine holds *originals* — it is refused
inside the output folder (which must hold nothing identifying).
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

from medeid_gui.export.atomic import OutputWriteError, describe_os_error


def quarantine_path(qdir: Path, input_root: Path, path: Path) -> Path:
    try:
        rel = Path(path).resolve().relative_to(Path(input_root).resolve())
    except ValueError:
        rel = Path(Path(path).name)
    return Path(qdir) / rel


def copy_to_quarantine(qdir: Path, input_root: Path, path: Path) -> Path:
    """Copy ``path`` into the quarantine folder; raise ``OutputWriteError`` with a reason."""
    dst = quarantine_path(qdir, input_root, path)
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".medeid-tmp-{os.getpid()}-{dst.name}")
        shutil.copyfile(path, tmp)
        os.replace(tmp, dst)
    except OSError as exc:
        raise OutputWriteError(dst, exc) from exc
    return dst


def write_reasons(qdir: Path, rows: list[tuple[str, str, str]]) -> Path:
    """``quarantine.csv``: original path, quarantined copy, reason."""
    p = Path(qdir) / "quarantine.csv"
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "w", newline="", encoding="utf-8", errors="backslashreplace") as fh:
        w = csv.writer(fh)
        w.writerow(["input_path", "quarantine_path", "reason"])
        for r in sorted(rows):
            w.writerow(r)
    return p


__all__ = ["copy_to_quarantine", "quarantine_path", "write_reasons", "describe_os_error"]
