"""Whether the pixel-privacy method may run on one image, and what is written when it may not.

Why a gate: the shipped weights were trained on frontal chest radiographs; run on a CT, an MR or
an ultrasound frame they paint a chest into it, and the export used to label such files "visual
features removed" (113102).  So, per file, the model is chosen by the image's domain (header facts,
``ml.domain`` / ``ml.model_registry``) and, inside a domain, the image's pixels must also be
familiar to the model (``ml.familiarity``).  When either fails, the file is exported with header
and burned-in text de-identification only -- Pixel Data as the header-only export writes it, no
113102 -- and the manifest row says why; with ``strict_privacy`` the file fails instead
(:class:`PrivacyRefused`, raised before anything is written).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..ml.domain import facts_of
from .errors import PrivacyRefused

if TYPE_CHECKING:  # pragma: no cover
    from pydicom.dataset import Dataset

    from ..ml.engine import InferenceEngine
    from ..ml.model_registry import InstalledModel
    from .clean import PixelReport, PixelRequest, PreparedPixels

__all__ = ["PrivacyGate", "gate_privacy", "gate_request", "run_checked", "engine_for", "refusal",
           "check_familiarity", "PrivacyRefused", "forget_models"]


@dataclass(frozen=True)
class PrivacyGate:
    """The decision for one image: run the method (with which model) or not, and why not."""

    run: bool
    why: str = ""  #: why the method may not run (empty when it may)
    model: InstalledModel | None = None

    @property
    def model_dir(self) -> str | None:
        """Folder of a site model; None for the shipped one (the engine's default)."""
        if self.model is None or self.model.shipped:
            return None
        return str(self.model.folder)


def refusal(privacy: float, why: str, *, strict: bool = False) -> str:
    """The manifest's words: what was asked, why it was not done, what was done instead."""
    if strict:
        return f"privacy {privacy:g} asked; {why}; not exported (--strict-privacy)"
    return (f"privacy {privacy:g} asked; {why}; header and burned-in text de-identified, "
            "pixels not changed by the method")


@functools.lru_cache(maxsize=4)
def _models(user_dir: str, shipped_dir: str) -> tuple[InstalledModel, ...]:
    """The installed models, read once per process and pair of folders (not once per file)."""
    from ..ml.model_registry import installed_models

    return tuple(installed_models(shipped_dir=Path(shipped_dir), user_dir=Path(user_dir)))


def forget_models() -> None:
    """Read the installed models again on next use (the app installed or imported one)."""
    _models.cache_clear()


def gate_privacy(ds: Dataset, privacy: float) -> PrivacyGate:
    """The model whose domain admits ``ds`` (header facts only), or the reason none does."""
    from .._resources import models_dir
    from ..ml.model_registry import choose_model, user_models_dir

    choice = choose_model(facts_of(ds), _models(os.fspath(user_models_dir()), os.fspath(models_dir())))
    if choice.model is None:
        return PrivacyGate(False, choice.verdict.reason)
    return PrivacyGate(True, "", choice.model)


def gate_request(ds: Dataset, request: PixelRequest,
                 report: PixelReport) -> tuple[PixelRequest, PrivacyGate | None]:
    """The request as it runs on ``ds``: the method only inside an installed model's domain.

    Outside every domain the level becomes 0 for this image (header and text work go on) and the
    report says why, or, with ``strict_privacy``, :class:`PrivacyRefused` is raised."""
    if not request.runs_method:
        return request, None
    gate = gate_privacy(ds, request.privacy)
    if gate.run:
        return request, gate
    if request.strict_privacy:
        raise PrivacyRefused(refusal(request.privacy, gate.why, strict=True))
    report.notes.append(refusal(request.privacy, gate.why))
    return dataclasses.replace(request, privacy=0.0), gate


def check_familiarity(prep: PreparedPixels, engine: InferenceEngine) -> None:
    """Drop the plan of an image the model finds unfamiliar (its first frame's features beyond the
    calibrated threshold); raise :class:`PrivacyRefused` instead when the request is strict."""
    from ..ml.familiarity import UNFAMILIAR_NOTE

    plan = prep.plan
    if plan is None:
        return
    score = getattr(engine, "familiarity", None)  # an injected stand-in may not score images
    fam = score(plan.working(0)) if score is not None else None
    if fam is None or not fam.unfamiliar:
        return
    why = f"{UNFAMILIAR_NOTE} (distance {fam.ratio:.1f}x the model's threshold)"
    if prep.request.strict_privacy:
        raise PrivacyRefused(refusal(plan.p, why, strict=True))
    prep.plan = None
    prep.report.notes.append(refusal(plan.p, why))


def run_checked(prep: PreparedPixels, engine: InferenceEngine | None = None) -> None:
    """The familiarity check, then the plan through ``engine`` (default: the engine of the model
    the gate chose), for callers that handle one image at a time."""
    if prep.plan is None:
        return
    engine = engine or engine_for(prep.plan.model_dir)
    check_familiarity(prep, engine)
    if prep.plan is not None:
        prep.plan.run(engine)


_engines: dict[str, InferenceEngine] = {}


def engine_for(model_dir: str | None) -> InferenceEngine:
    """The process's engine for a model folder (None: the shipped model's default engine)."""
    from ..ml.engine import InferenceEngine, default_engine

    if model_dir is None:
        return default_engine()
    if model_dir not in _engines:
        _engines[model_dir] = InferenceEngine(models=model_dir)
    return _engines[model_dir]
