"""The method and its ablations are registered with the evaluation and honour its contract."""

from __future__ import annotations

import numpy as np
import pytest

from medeid_gui.lab.registry import get_method, method_names

NAMES = ("medeid", "medeid-random", "medeid-no-comp", "medeid-no-mdl")


@pytest.fixture()
def tmp_models(tmp_path, monkeypatch):
    import torch

    from medeid_gui.ml.model import export_states, new_model
    from medeid_gui.ml.weights import save_state

    torch.manual_seed(0)
    for name, state in export_states(new_model(3)).items():
        save_state(tmp_path, name, state, model=name[:-3])
    monkeypatch.setenv("MEDEID_MODELS", str(tmp_path))
    return tmp_path


def test_all_variants_registered() -> None:
    assert set(NAMES) <= set(method_names())


@pytest.mark.parametrize("name", NAMES)
def test_contract(tmp_models, name) -> None:
    frames = np.random.default_rng(0).random((2, 48, 48)).astype(np.float32)
    m = get_method(name)
    same = m.apply(frames, 0.0, np.random.default_rng(1))
    assert np.array_equal(same, frames)
    a = m.apply(frames, 0.5, np.random.default_rng(1))
    b = m.apply(frames, 0.5, np.random.default_rng(1))
    assert a.shape == frames.shape and a.dtype == np.float32 and np.array_equal(a, b)
    changed = (a != frames).mean()
    assert 0.3 < changed <= 0.5 + 1e-6


def test_missing_weights_fail_loudly(tmp_path, monkeypatch) -> None:
    from medeid_gui.ml.weights import WeightsError

    monkeypatch.setenv("MEDEID_MODELS", str(tmp_path))
    with pytest.raises(WeightsError):
        get_method("medeid").apply(np.zeros((1, 32, 32), np.float32), 0.5, np.random.default_rng(0))


def test_version_follows_the_weights(tmp_models) -> None:
    from medeid_gui.lab.method_registry import weights_version
    from medeid_gui.ml.weights import record

    v1 = weights_version()
    assert v1.startswith("w") and v1 == weights_version()
    target = tmp_models / "medeid-compensator.pt"
    target.write_bytes(target.read_bytes() + b"\0")
    record(tmp_models, "medeid-compensator.pt", model="medeid-compensator")
    assert weights_version() != v1
