"""A re-identification risk a clinician can read: words, a number, and what the number means.

Why not a per-image similarity: the cosine between the original's and the output's identity
embeddings (the old readout) is not a probability, is not monotone in the privacy level and reads
0 for any negative value.  What the project has *measured* is how well an independent attacker,
retrained on images de-identified at each level, tells a same-patient pair from a different-patient
pair (verification AUC, models/EVALUATION.md).  That AUC is the chance that the attacker scores a
true pair above a false one — 0.5 is guessing.  The readout interpolates the model's measured curve
(kept in its manifest with the weights it belongs to), made non-increasing so that a higher level
never reads as riskier, and names the data it was measured on.  Outside the model's domain there is
no measurement, and the readout says "not assessed" instead of a number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["RiskCurve", "RiskReadout", "NOT_ASSESSED", "read_risk_curve"]

#: attacker AUC at or above which the risk is called high / medium (below: low)
HIGH_AT = 0.80
MEDIUM_AT = 0.65


@dataclass(frozen=True)
class RiskReadout:
    """What the GUI shows: ``word`` on the label, ``text`` beside it, ``tooltip`` on hover."""

    word: str  #: "high", "medium", "low" or "not assessed"
    auc: float | None  #: the attacker's verification AUC at this level (None: not assessed)
    text: str
    tooltip: str


NOT_ASSESSED = RiskReadout(
    word="not assessed", auc=None, text="Re-identification risk: not assessed",
    tooltip="No pixel privacy model covers this image, so its re-identification risk from anatomy "
            "was never measured. Header and burned-in text are still de-identified.",
)


@dataclass(frozen=True)
class RiskCurve:
    """Attacker AUC measured at privacy levels, for one model."""

    levels: tuple[float, ...]
    auc: tuple[float, ...]
    measured_on: str  #: which images and attacker produced the figures

    def __post_init__(self) -> None:
        if len(self.levels) < 2 or len(self.levels) != len(self.auc):
            raise ValueError("a risk curve needs at least two levels, each with its AUC")
        if list(self.levels) != sorted(self.levels) or self.levels[0] != 0.0 or self.levels[-1] != 1.0:
            raise ValueError("risk curve levels must rise from 0 to 1")

    def auc_at(self, privacy: float) -> float:
        """Measured AUC interpolated at ``privacy``, never above the value at a lower level."""
        envelope = np.minimum.accumulate(np.asarray(self.auc, dtype=np.float64))
        return float(np.interp(float(privacy), self.levels, envelope))

    def readout(self, privacy: float) -> RiskReadout:
        auc = self.auc_at(privacy)
        word = "high" if auc >= HIGH_AT else "medium" if auc >= MEDIUM_AT else "low"
        pct = round(auc * 100)
        tooltip = (
            f"At privacy {privacy:.2f}, an independent attacker retrained on images de-identified at "
            f"this level told two images of the same patient from two of different patients with "
            f"AUC {auc:.2f}: it scored the true pair higher {pct} times in 100 (50 = guessing; "
            f"originals: {self.auc[0]:.2f}). Measured on {self.measured_on}. "
            f"High at {HIGH_AT:.2f} or more, low below {MEDIUM_AT:.2f}."
        )
        return RiskReadout(word=word, auc=auc, text=f"Re-identification risk: {word} ({auc:.2f})", tooltip=tooltip)

    def to_json(self) -> dict[str, object]:
        return {"levels": list(self.levels), "attacker_auc": list(self.auc), "measured_on": self.measured_on}


def read_risk_curve(manifest: Mapping[str, object]) -> RiskCurve | None:
    """The curve a model's manifest carries, or None when it has none (then: not assessed)."""
    data = manifest.get("risk")
    if not isinstance(data, Mapping):
        return None
    levels: Sequence[float] = data.get("levels", ())  # type: ignore[assignment]
    auc: Sequence[float] = data.get("attacker_auc", ())  # type: ignore[assignment]
    return RiskCurve(tuple(float(v) for v in levels), tuple(float(v) for v in auc),
                     str(data.get("measured_on", "")))
