"""Weight files with a sha256 manifest, checked before torch ever unpickles them.

Why: the weights decide what the app does to patient images, so a truncated download, a
half-copied file or a swapped model must be refused loudly instead of silently running something
else. ``models/manifest.json`` lists every weight file with its sha256 and size; ``load_state``
verifies the file against it first and only then calls ``torch.load(weights_only=True)`` (no
arbitrary code from a pickle).

Manifest format::

    {"format": 1,
     "files": {"medeid-identity.pt": {"sha256": "...", "bytes": 123, "model": "medeid-identity",
                                      "card": "medeid-identity.md"}, ...}}
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TypeAlias

MANIFEST = "manifest.json"


class WeightsError(RuntimeError):
    """A weight file is missing, not listed, or does not match its recorded sha256."""


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


#: A parsed ``manifest.json``: a JSON object whose ``files`` entry maps file names to their records.
Manifest: TypeAlias = dict[str, object]
#: What ``torch.save`` writes for one weight file: tensors and nested tables of them by name.
StateDict: TypeAlias = dict[str, object]


def _files(data: Manifest) -> dict[str, dict[str, object]]:
    files = data.get("files")
    if not isinstance(files, dict):
        raise WeightsError("the manifest has no 'files' table")
    return files


def read_manifest(models: str | Path) -> Manifest:
    path = Path(models) / MANIFEST
    if not path.is_file():
        raise WeightsError(f"no {MANIFEST} in {models}: cannot verify model weights")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{path} is not readable JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        raise WeightsError(f"{path} has no 'files' table")
    return data


def verify(models: str | Path, name: str) -> Path:
    """Path of weight file ``name`` in ``models`` after checking it against the manifest."""
    models = Path(models)
    entry = _files(read_manifest(models)).get(name)
    if entry is None:
        raise WeightsError(f"{name} is not listed in {models / MANIFEST}; refusing to load it")
    path = models / name
    if not path.is_file():
        raise WeightsError(f"weight file {path} is missing (listed in {MANIFEST})")
    digest = sha256_file(path)
    if digest != entry.get("sha256"):
        raise WeightsError(
            f"weight file {path} does not match {MANIFEST}: sha256 {digest} != recorded "
            f"{entry.get('sha256')}. The file is damaged or was replaced; restore it or retrain "
            "(medeid ml train) and re-record the manifest."
        )
    return path


def load_state(models: str | Path, name: str) -> StateDict:
    """Verified ``torch.load(weights_only=True)`` of ``models/name`` on the CPU."""
    import torch

    path = verify(models, name)
    return torch.load(path, map_location="cpu", weights_only=True)


def save_state(models: str | Path, name: str, state: StateDict, *, model: str,
               card: str | None = None) -> str:
    """Write ``state`` to ``models/name`` and record its sha256 in the manifest. Returns it."""
    import torch

    models = Path(models)
    models.mkdir(parents=True, exist_ok=True)
    tmp = models / (name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(models / name)
    record(models, name, model=model, card=card)
    return sha256_file(models / name)


def record(models: str | Path, name: str, *, model: str, card: str | None = None) -> None:
    """(Re-)record ``models/name`` in the manifest (creating the manifest if needed)."""
    models = Path(models)
    mpath = models / MANIFEST
    data: Manifest = read_manifest(models) if mpath.is_file() else {"format": 1, "files": {}}
    path = models / name
    files = _files(data)
    files[name] = {
        "sha256": sha256_file(path), "bytes": path.stat().st_size, "model": model,
        **({"card": card} if card else {}),
    }
    data["files"] = dict(sorted(files.items()))
    write_manifest(models, data)


def write_manifest(models: str | Path, data: Manifest) -> None:
    """``data`` as the folder's manifest, written whole or not at all (temporary file, then
    rename), so an interrupted write never leaves a half manifest that refuses the model."""
    mpath = Path(models) / MANIFEST
    tmp = mpath.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp.replace(mpath)
