"""The settings fingerprint an output folder's run database remembers.

Why: "run the same command again" resumes only when the settings are the same; a second run with
another profile, key, format or pixel request into the same folder would mix two exports. The
text must stay stable across releases for unchanged settings (a new field is added only when it
is used), or every earlier output folder would be refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from medeid_gui.export.config import ExportConfig

if TYPE_CHECKING:  # pragma: no cover
    from medeid_gui.deid.engine import DeidConfig
    from medeid_gui.pixels.clean import PixelRequest

SETTINGS_VERSION = "1"
#: What the pixel step does beyond its request's settings. Raised whenever a release changes the
#: pixels written for the same request (2: text pass on every modality with the display-black
#: fill, the model-domain gate, the fill repair, MONOCHROME1 in the model's sense; 3: the
#: ultrasound rule band filled where it holds text, ``pixels.band_text``, and the fill repair
#: without surround offset, feather and mean anchor), so that a folder exported by an earlier
#: release is not resumed into a mix of two behaviours.
PIXEL_POLICY = "3"


def _models_digest() -> str:
    """The installed models' identities (shipped and site): which one runs for a file depends on
    all of them, so installing or removing one changes what a privacy export writes."""
    from medeid_gui.ml.model_registry import installed_models

    return hashlib.sha256(",".join(sorted(m.digest for m in installed_models())).encode()).hexdigest()


def _effective_options(d: DeidConfig) -> set[str]:
    try:
        return {getattr(o, "value", str(o)) for o in d.effective_options()}
    except Exception:  # noqa: BLE001 - a bad option is reported where the engine is built
        return set()


def _safe_private_sha(d: DeidConfig) -> str:
    """The allowlist's content hash: the shipped list counts too (a new release may change it)."""
    safe = d.safe_private_path
    if not safe and "retain-safe-private" in _effective_options(d):
        from medeid_gui._resources import resource
        from medeid_gui.deid.private import SAFE_PRIVATE_FILE

        safe = resource("private", SAFE_PRIVATE_FILE)
    return hashlib.sha256(Path(safe).read_bytes()).hexdigest() if safe and Path(safe).is_file() else ""


def settings_fingerprint(cfg: ExportConfig, key_fp: str, pixel_request: PixelRequest | None) -> str:
    """JSON text of everything that changes the output bytes of ``cfg`` (keys sorted)."""
    d = cfg.deid
    blob: dict[str, object] = {
        "v": SETTINGS_VERSION,
        "profile": d.profile,
        "options": sorted(getattr(o, "value", str(o)) for o in (d.options or ())),
        "safe_private": _safe_private_sha(d),
        "key": key_fp,
        "fmt": cfg.fmt,
        "dicomdir": bool(cfg.dicomdir),
        "pixels": repr(pixel_request) if pixel_request is not None else "",
    }
    if pixel_request is not None:
        blob["pixel_policy"] = PIXEL_POLICY
        if pixel_request.runs_method or cfg.privacy_by_series:
            blob["models"] = _models_digest()
    if pixel_request is not None and pixel_request.strict_privacy:  # only when set, likewise
        blob["strict_privacy"] = True
    if cfg.privacy_by_series:  # only when used, so earlier exports keep their fingerprint
        blob["privacy_by_series"] = sorted(cfg.privacy_by_series.items())
    return json.dumps(blob, sort_keys=True)
