"""The seam loss (lab.border_loss) against the fill-quality check it stands in for
(lab.fill_quality.border_step), on a real radiograph, and its effect in training."""

from __future__ import annotations

import numpy as np
import pytest

from medeid_gui.lab.border_loss import border_step_excess
from medeid_gui.lab.fill_quality import border_step


@pytest.fixture(scope="module")
def rg1_small() -> np.ndarray:
    """pydicom-data's RG1_UNCR chest CR at every 8th pixel, in [0, 1] over its 0.5/99.5 %."""
    import pydicom
    from pydicom.data import get_testdata_file

    a = pydicom.dcmread(get_testdata_file("RG1_UNCR.dcm")).pixel_array[::8, ::8].astype(np.float64)
    lo, hi = np.percentile(a, (0.5, 99.5))
    return np.clip((a - lo) / (hi - lo), 0.0, 1.0)


def _t(a: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))[None, None]


def test_equals_the_border_step_and_is_zero_for_the_original(rg1_small) -> None:
    from medeid_gui.ml.patches import upsample_grid

    rng = np.random.default_rng(1)
    mask = upsample_grid(rng.random((16, 16)) < 0.4, rg1_small.shape)
    seamed = np.where(mask, np.clip(rg1_small + 0.2, 0, 1), rg1_small)
    zero = np.zeros_like(rg1_small)
    # against an all-zero "original" the excess is the composed image's border step itself
    got = border_step_excess(_t(seamed), _t(zero), _t(mask.astype(float)), depth=2).item()
    assert got == pytest.approx(border_step(seamed, mask, depth=2), rel=1e-9)
    assert border_step_excess(_t(rg1_small), _t(rg1_small), _t(mask.astype(float))).item() == 0.0
    # a seam costs, and the cost grows with it
    small = np.where(mask, np.clip(rg1_small + 0.05, 0, 1), rg1_small)
    a = border_step_excess(_t(small), _t(rg1_small), _t(mask.astype(float))).item()
    b = border_step_excess(_t(seamed), _t(rg1_small), _t(mask.astype(float))).item()
    assert 0.0 < a < b
    # no border, no loss (everything or nothing blocked)
    for m in (np.zeros_like(mask), np.ones_like(mask)):
        assert border_step_excess(_t(seamed), _t(rg1_small), _t(m.astype(float))).item() == 0.0


def test_gradient_reaches_only_the_composed_image(rg1_small) -> None:
    import torch

    from medeid_gui.ml.patches import upsample_grid

    mask = _t(upsample_grid(np.eye(16, dtype=bool), rg1_small.shape).astype(float))
    y = (_t(rg1_small) + 0.1 * mask).requires_grad_(True)
    x = _t(rg1_small).requires_grad_(True)
    border_step_excess(y, x, mask).backward()
    assert y.grad is not None and torch.count_nonzero(y.grad) > 0
    assert x.grad is None or torch.count_nonzero(x.grad) == 0
