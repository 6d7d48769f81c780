"""How unlike a model's training images an image is: a distance, a threshold, and words.

Why: the header says whether an image is of the right *kind* (``ml.domain``); it cannot say
whether the pixels look like anything the model learned from.  A frontal chest radiograph from a
scanner, a child, or a photograph of a film can be inside the domain and still far from the
training images, and then the fill may not keep the findings.  The semantic encoder already
describes every analysed frame; the distance of that description to the training images'
(Mahalanobis, with a shrunk covariance) is the score.  It is calibrated on held-out images of the
training distribution: the threshold is their 99th percentile, so about 1 in 100 familiar images is
flagged by chance, and it is kept with the weights it belongs to (``medeid-familiarity.json``,
listed with its sha256 in the manifest).

numpy only: the pooled feature vector is handed in by the caller that ran the encoder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "FamiliarityModel",
    "Familiarity",
    "pooled_features",
    "fit_familiarity",
    "load_familiarity",
    "FAMILIARITY_FILE",
    "UNFAMILIAR_NOTE",
]

FAMILIARITY_FILE = "medeid-familiarity.json"
UNFAMILIAR_NOTE = "unfamiliar image: findings may not be kept"


def pooled_features(features: np.ndarray) -> np.ndarray:
    """(C, H, W) or (1, C, H, W) feature map -> (2C,) per-channel spatial mean and std."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim == 4:
        if f.shape[0] != 1:
            raise ValueError(f"one feature map expected, got a batch of {f.shape[0]}")
        f = f[0]
    if f.ndim != 3:
        raise ValueError(f"feature map must be (C, H, W), got shape {f.shape}")
    flat = f.reshape(f.shape[0], -1)
    return np.concatenate([flat.mean(axis=1), flat.std(axis=1)])


@dataclass(frozen=True)
class Familiarity:
    """One image's score against a model's training images."""

    distance: float
    threshold: float
    unfamiliar: bool

    @property
    def ratio(self) -> float:
        """Distance in units of the threshold (1.0 = the 99th percentile of held-out images)."""
        return self.distance / self.threshold

    @property
    def note(self) -> str:
        return UNFAMILIAR_NOTE if self.unfamiliar else ""


@dataclass(frozen=True)
class FamiliarityModel:
    """Training-image statistics of one model's pooled semantic features."""

    mean: np.ndarray  #: (D,)
    whiten: np.ndarray  #: (D, D): distance = |whiten @ (x - mean)|
    threshold: float
    calibration: dict[str, object]

    def distance(self, pooled: np.ndarray) -> float:
        v = np.asarray(pooled, dtype=np.float64)
        if v.shape != self.mean.shape:
            raise ValueError(f"pooled features of shape {v.shape}; this model expects {self.mean.shape}")
        return float(np.linalg.norm(self.whiten @ (v - self.mean)))

    def score(self, pooled: np.ndarray) -> Familiarity:
        d = self.distance(pooled)
        return Familiarity(distance=d, threshold=self.threshold, unfamiliar=d > self.threshold)

    def to_json(self) -> dict[str, object]:
        return {
            "format": 1,
            "mean": self.mean.tolist(),
            "whiten": self.whiten.tolist(),
            "threshold": self.threshold,
            "calibration": self.calibration,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> FamiliarityModel:
        try:
            mean = np.asarray(data["mean"], dtype=np.float64)
            whiten = np.asarray(data["whiten"], dtype=np.float64)
            threshold = float(data["threshold"])  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"familiarity statistics are incomplete: {exc}") from exc
        if mean.ndim != 1 or whiten.shape != (mean.size, mean.size) or not threshold > 0:
            raise ValueError("familiarity statistics have inconsistent shapes or no threshold")
        return cls(mean, whiten, threshold, dict(data.get("calibration") or {}))  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | Path) -> FamiliarityModel:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def fit_familiarity(
    train: np.ndarray, heldout: np.ndarray, *, quantile: float = 0.99, shrinkage: float = 0.1
) -> FamiliarityModel:
    """Statistics of ``train`` (N, D) pooled vectors, threshold from ``heldout`` (M, D).

    The covariance is shrunk towards its diagonal (``shrinkage``) so that a few hundred images
    give a stable inverse for a few dozen dimensions.
    """
    x = np.asarray(train, dtype=np.float64)
    h = np.asarray(heldout, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 10:
        raise ValueError(f"too few training vectors ({x.shape[0]}) for {x.shape[1]} dimensions")
    if h.ndim != 2 or h.shape[1] != x.shape[1] or h.shape[0] < 10:
        raise ValueError("need at least 10 held-out vectors of the training vectors' dimension")
    mean = x.mean(axis=0)
    cov = np.cov(x, rowvar=False)
    diag = np.diag(np.diag(cov))
    cov = (1 - shrinkage) * cov + shrinkage * diag + 1e-9 * np.eye(cov.shape[0]) * max(np.trace(cov), 1e-12)
    whiten = np.linalg.inv(np.linalg.cholesky(cov))
    model = FamiliarityModel(mean, whiten, 1.0, {})
    held = np.array([model.distance(v) for v in h])
    fitted = np.array([model.distance(v) for v in x])
    threshold = float(np.quantile(held, quantile))
    calibration = {
        "quantile": quantile,
        "shrinkage": shrinkage,
        "train_images": int(x.shape[0]),
        "heldout_images": int(h.shape[0]),
        "heldout_distance_median": float(np.median(held)),
        "train_distance_median": float(np.median(fitted)),
        "heldout_flagged": float(np.mean(held > threshold)),
    }
    return FamiliarityModel(mean, whiten, threshold, calibration)


def load_familiarity(models: str | Path) -> FamiliarityModel | None:
    """The model folder's statistics, verified against its manifest; None when it has none.

    A listed file that fails its sha256 raises ``WeightsError`` like any weight file.
    """
    from medeid_gui.ml.weights import read_manifest, verify

    if FAMILIARITY_FILE not in read_manifest(models)["files"]:
        return None
    return FamiliarityModel.load(verify(models, FAMILIARITY_FILE))
