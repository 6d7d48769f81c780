"""Per-model working resolution: recorded in the weights, used where the model runs.

Why: real radiographs need >= 256 px while the shipped weights work at 128 px (and their outputs
must stay byte-identical, which ``test_shipped_model`` proves); so the size travels with the
weights instead of being a constant of the code.
"""

from __future__ import annotations

import numpy as np
import pytest


def test_size_saved_loaded_and_used(tmp_path) -> None:
    import torch

    from medeid_gui.ml.deidentify import analyse, apply_level
    from medeid_gui.ml.model import export_states, load_model, new_model
    from medeid_gui.ml.weights import save_state

    torch.manual_seed(0)
    model = new_model(3, work_size=256, comp_prior=True)
    for name, state in export_states(model).items():
        save_state(tmp_path, name, state, model=name[:-3])
    loaded = load_model(tmp_path, device="cpu")
    assert loaded.work_size == 256
    assert loaded.compensator.prior.shape[-1] == 256
    frame = (np.random.default_rng(0).random((300, 280)) * 4000).astype(np.uint16)
    a = analyse(frame, loaded)
    assert a.work.shape[-2:] == (256, 256)
    assert a.code.shape[-1] == 64  # feature grid = size / 4
    out, _, mask = apply_level(a, 0.5, seed=1)
    assert out.shape == frame.shape and out.dtype == frame.dtype
    assert mask.any() and np.array_equal(out[~mask], frame[~mask])


def test_default_size_is_the_shipped_one() -> None:
    from medeid_gui.ml.model import new_model

    assert new_model(0).work_size == 128


@pytest.mark.parametrize("size", [100, 200, 2048])
def test_unusable_sizes_refused(size: int) -> None:
    from medeid_gui.ml.model import new_model

    with pytest.raises(ValueError, match="working size"):
        new_model(0, work_size=size)
