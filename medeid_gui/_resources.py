"""Locate the project's ``resources/`` and ``models/`` folders.

Why: the top-level layout is fixed (resources/ and models/ beside the package), and the same code
must find them from a source checkout, an editable install and a PyInstaller bundle
(``sys._MEIPASS``). ``MEDEID_RESOURCES`` / ``MEDEID_MODELS`` override for tests and sites.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _root_candidates() -> list[Path]:
    out: list[Path] = []
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        out.append(Path(meipass))
    out.append(Path(__file__).resolve().parent.parent)
    return out


def _find(name: str, env: str) -> Path:
    override = os.environ.get(env)
    if override:
        return Path(override)
    for root in _root_candidates():
        cand = root / name
        if cand.is_dir():
            return cand
    raise FileNotFoundError(
        f"cannot find the '{name}' folder next to the medeid_gui package; set {env} to its path"
    )


def resources_dir() -> Path:
    """The ``resources/`` folder (profile tables, allowlists, demo recipes, icons)."""
    return _find("resources", "MEDEID_RESOURCES")


def models_dir() -> Path:
    """The ``models/`` folder (weights, model cards, manifest.json)."""
    return _find("models", "MEDEID_MODELS")


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
