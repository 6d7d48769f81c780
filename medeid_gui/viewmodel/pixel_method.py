"""Whether the pixel method may run on a series, why not, and how the model must see its pixels.

Why a per-series decision in the view model: a model applied outside its domain paints what it
was trained on into the image (a chest radiograph into a CT slice), and it looks plausible.  The
viewer therefore asks the model registry once per series (on the first instance's header, the
same check the export makes) and, outside every installed model's domain, keeps the slider off
with one line of reason; pixels are never changed silently.

Why the inversion: the models learned MONOCHROME2 images (bright = dense).  A MONOCHROME1 file
(bright = air) is handed to them negated, and the result negated back, so the viewer shows and
the export writes values in the file's own sense.  Negation is exact in floating point, so
unblocked pixels come back bit-identical.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from medeid_gui.ml.domain import TRAIN_HINT, HeaderLike, facts_of
from medeid_gui.ml.risk import NOT_ASSESSED, RiskReadout

if TYPE_CHECKING:
    import numpy as np

    from medeid_gui.ml.model_registry import InstalledModel

#: what stays de-identified when the pixels are left as they are
STILL_DONE = "header and burned-in text are still de-identified"


@dataclass(frozen=True)
class SeriesMethod:
    """The pixel method's verdict for one series: the model to use, or the line saying why not."""

    allowed: bool
    reason: str = ""  #: the registry's reason ("" when allowed)
    model: InstalledModel | None = None
    label: str = ""  #: how the images are named ("CT HEAD", "CR CHEST PA")

    @property
    def line(self) -> str:
        """One line for the user under the slider ("" when the method may run)."""
        if self.allowed:
            return ""
        reason = self.reason[:1].upper() + self.reason[1:] if self.reason else "No pixel privacy model"
        return f"{reason} — {STILL_DONE}. {TRAIN_HINT}"

    def risk(self, privacy: float) -> RiskReadout:
        """The re-identification risk readout at ``privacy``: measured words, or not assessed."""
        if not self.allowed or self.model is None or self.model.risk is None:
            return NOT_ASSESSED
        return self.model.risk.readout(privacy)


#: decides a series from its first instance's header (the view model's seam for other registries)
Gate = Callable[[HeaderLike], SeriesMethod]

NO_IMAGE = SeriesMethod(allowed=False, reason="no image shown")


def registry_gate(models: Sequence[InstalledModel] | None = None) -> Gate:
    """A gate over ``models`` (default: the installed ones, scanned on first use)."""
    found: list[Sequence[InstalledModel]] = [models] if models is not None else []

    def gate(header: HeaderLike) -> SeriesMethod:
        from medeid_gui.ml.model_registry import choose_model, installed_models

        if not found:
            found.append(installed_models())
        facts = facts_of(header)
        choice = choose_model(facts, found[0])
        return SeriesMethod(choice.verdict.inside, choice.verdict.reason, choice.model, facts.label)

    return gate


def to_model_sense(frame: np.ndarray, invert: bool) -> np.ndarray:
    """The frame as the model must see it (MONOCHROME2 sense): negated when ``invert``."""
    return -frame if invert else frame


def from_model_sense(frame: np.ndarray, invert: bool) -> np.ndarray:
    """The model's output back in the file's sense (the inverse of :func:`to_model_sense`)."""
    return -frame if invert else frame
