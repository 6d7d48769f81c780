"""The real-set evaluation's data: test/train images, labels, and the released versions per method.

Why a module of its own: every attacker, task and fill figure of ``medeid ml evaluate-real`` must
see the same images released the same way. The released image is what a site would publish: the
original's own size and grey levels with the method's (or a baseline's) changes, as uint8. The
networks (attacker, tasks) see a square ``work`` version of it (box-averaged to ``size``), the
training-free attackers see the released array itself.

Methods: ``medeid`` (the model's identity-ranked blocking + compensation), ``medeid-random``
(random patches, the same compensator: the method's own ablation) and every baseline of
``lab/baselines.py`` except ``identity`` (``random-block``, ``blur``, ``pixelate``, ``dp-pix``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from medeid_gui.lab.real_cxr import CxrItem, RealCxrSet, load_png_folder, split_patients
from medeid_gui.lab.thumb_attack import box_resize

__all__ = ["BASELINES", "METHODS", "RealSplit", "Released", "load_splits", "release", "work_images"]

BASELINES = ("random-block", "blur", "pixelate", "dp-pix")
METHODS = ("medeid", "medeid-random", *BASELINES)


@dataclass
class RealSplit:
    """Images (uint8, own size) and their labels for one group of patients."""

    items: list[CxrItem]
    images: list[np.ndarray]
    masks: list[np.ndarray | None]  # lung masks (bool, image size) or None

    @property
    def patients(self) -> list[str]:
        return [it.patient_id for it in self.items]

    @property
    def days(self) -> list[int | None]:
        return [it.offset for it in self.items]

    @property
    def covid(self) -> np.ndarray:
        return np.array([it.finding.startswith("COVID-19") for it in self.items], dtype=np.float32)

    @property
    def severity(self) -> np.ndarray:
        """(N, 2) geographic / 8 and opacity / 6 in [0, 1]; NaN where not scored."""
        g = [np.nan if it.severity_geographic is None else it.severity_geographic / 8 for it in self.items]
        o = [np.nan if it.severity_opacity is None else it.severity_opacity / 6 for it in self.items]
        return np.stack([np.asarray(g, dtype=np.float32), np.asarray(o, dtype=np.float32)], axis=1)


def _split(root: Path, s: RealCxrSet, idx: Sequence[int]) -> RealSplit:
    from PIL import Image

    items = [s.items[i] for i in idx]
    masks: list[np.ndarray | None] = []
    for it, i in zip(items, idx):
        path = root / "lung_masks" / it.lung_mask
        if it.lung_mask and path.is_file():
            m = np.asarray(Image.open(path).convert("L")) >= 128
            masks.append(m if m.shape == s.images[i].shape[:2] else None)
        else:
            masks.append(None)
    return RealSplit(items, [s.images[i] for i in idx], masks)


def load_splits(root: str | Path, *, seed: int = 0, max_test: int | None = None,
                max_train: int | None = None) -> tuple[RealSplit, RealSplit]:
    """(train, test): train = the train + validation patients, test = the test patients.

    The splits are :func:`split_patients` with ``seed`` (the ones the method is trained on), so
    a method trained on the train split never saw a test patient; the attacker and the tasks
    train on train + validation (never test). ``max_*`` keep the first N images (tests).
    """
    root = Path(root)
    s = load_png_folder(root)
    sp = split_patients(s.items, seed)
    train_idx = sorted(sp["train"] + sp["val"])[:max_train]
    test_idx = sp["test"][:max_test]
    return _split(root, s, train_idx), _split(root, s, test_idx)


def work_images(images: Sequence[np.ndarray], size: int) -> np.ndarray:
    """(N, size, size) float32 in [0, 1]: each image box-averaged to a square (the networks' input)."""
    return np.stack([box_resize(im, size) / 255.0 for im in images]).astype(np.float32)


@dataclass
class Released:
    """One method at one level on the test images: released uint8 arrays and blocked masks."""

    images: list[np.ndarray]
    masks: list[np.ndarray | None]  # blocked pixels (medeid variants only)


def _baseline(name: str) -> Callable[[np.ndarray, float, np.random.Generator], np.ndarray]:
    import medeid_gui.lab.baselines  # noqa: F401  (registers the baselines)
    from medeid_gui.lab.registry import get_method

    return get_method(name).apply


def release(method: str, p: float, images: Sequence[np.ndarray], analyses: Sequence[object] | None,
            *, seed: int = 0) -> Released:
    """Release every image with ``method`` at level ``p`` (deterministic per image from ``seed``).

    ``analyses`` are :func:`medeid_gui.ml.deidentify.analyse` results of ``images`` (needed for the
    medeid variants, computed once so that each level only re-blocks).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {METHODS}")
    if method.startswith("medeid"):
        from medeid_gui.ml.deidentify import apply_level

        if analyses is None:
            raise ValueError("the medeid variants need the images' analyses")
        variant = "medeid" if method == "medeid" else "random"
        outs = [apply_level(a, p, seed=seed + k, variant=variant) for k, a in enumerate(analyses)]
        return Released([o.frame for o in outs], [o.mask for o in outs])
    fn = _baseline(method)
    out = []
    for k, im in enumerate(images):
        rng = np.random.default_rng([seed, k])
        f = fn(im.astype(np.float32)[None] / 255.0, p, rng)[0]
        out.append(np.clip(np.rint(f * 255.0), 0, 255).astype(np.uint8))
    return Released(out, [None] * len(out))
