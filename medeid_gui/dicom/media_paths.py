"""Resolving a DICOMDIR's Referenced File IDs on a real file system.

Why apart: PS3.10 media store upper-case IDs, but a copied or unzipped file-set often has them in
another case; finding the file is a file-system question, not a parsing one.
"""

from __future__ import annotations

import os
from pathlib import Path


def resolve_file_id(base: Path, parts: list[str]) -> Path | None:
    """Find ``base/parts…`` where the media's upper-case IDs may be stored in another case."""
    current = base
    for part in parts:
        candidate = current / part
        if candidate.exists():
            current = candidate
            continue
        try:
            names = os.listdir(current)
        except OSError:
            return None
        match = [n for n in names if n.lower() == part.lower()]
        if not match:
            return None
        current = current / sorted(match)[0]
    return current if current.is_file() else None
