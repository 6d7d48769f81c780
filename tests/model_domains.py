"""Model folders whose declared domain admits every image, for the tests of the pixel plumbing.

Why: since issue #14 the method runs only inside an installed model's domain (the shipped one
covers frontal chest radiographs), but the pixel-writing tests need it to run on CT, MR, US,
colour, palette and multi-frame files.  A site may declare a model for every image (``"*"``);
these helpers write such a folder -- the shipped weights (or any), verified by sha256 as always,
without familiarity statistics -- so the plumbing is exercised through the real registry.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ANY_IMAGE = {
    "name": "any image (test plumbing)",
    "modalities": ["*"],
    "body_parts": ["*"],
    "photometric": ["*"],
    "min_side": 2,
    "max_side": 65536,
    "max_frames": 100000,
    "trained_on": "whatever the folder's weights were trained on",
}


def declare_domain(folder: Path, domain: dict[str, object] | None = None) -> Path:
    """Write ``domain`` (default: every image) into the folder's manifest; drop its familiarity
    statistics (they belong to the shipped domain)."""
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["domain"] = dict(domain or ANY_IMAGE)
    manifest["files"].pop("medeid-familiarity.json", None)
    manifest.pop("risk", None)
    path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    (folder / "medeid-familiarity.json").unlink(missing_ok=True)
    return folder


def any_image_models(dst: Path) -> Path:
    """A copy of the shipped models folder declared for every image (use as MEDEID_MODELS)."""
    from medeid_gui._resources import models_dir

    if not (dst / "manifest.json").is_file():
        shutil.copytree(models_dir(), dst, dirs_exist_ok=True)
        declare_domain(dst)
    return dst


def fresh_engines(monkeypatch: object) -> None:
    """Forget the process's engines for this test (restored after it): an engine loads its model
    and familiarity statistics from the models folder of its first use, and tests that switch
    ``MEDEID_MODELS`` must not hand their engine to the next test."""
    import medeid_gui.ml.engine as engine_mod
    from medeid_gui.export import worker
    from medeid_gui.pixels import privacy_gate

    monkeypatch.setattr(engine_mod, "_default", None)  # type: ignore[attr-defined]
    monkeypatch.delitem(worker._STATE, "engine", raising=False)  # type: ignore[attr-defined]
    monkeypatch.setattr(privacy_gate, "_engines", {})  # type: ignore[attr-defined]


def changed_files(inp: Path, out: Path) -> int:
    """How many exported files carry pixels that are no input's pixels (the method ran on them);
    the benchmarks use it to show the method was not skipped by the domain gate."""
    import hashlib

    import pydicom

    def digest(p: Path) -> str:
        return hashlib.sha256(pydicom.dcmread(p).PixelData).hexdigest()

    seen = {digest(p) for p in inp.rglob("*.dcm")}
    return sum(digest(p) not in seen for p in out.rglob("*.dcm"))
