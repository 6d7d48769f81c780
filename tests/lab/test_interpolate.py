"""``medeid ml interpolate``: the mix of two fine-tunes' compensators, on the shipped weights."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from medeid_gui.lab.interpolate_cmd import COMP_FILE, mix_states, run


@pytest.fixture(scope="module")
def shipped() -> dict:
    from medeid_gui._resources import models_dir
    from medeid_gui.ml.weights import load_state

    return load_state(models_dir(), COMP_FILE)


def _nudged(state: dict, key: str, by: float) -> dict:
    """A copy of ``state`` with every floating tensor of table ``key`` moved by ``by``."""
    return {k: ({n: t + by if t.is_floating_point() else t for n, t in v.items()} if k == key else v)
            for k, v in state.items()}


def test_mix_is_the_straight_line_between_the_compensators(shipped) -> None:
    import torch

    b = _nudged(_nudged(shipped, "compensator", 0.5), "compensator_raw", -0.25)
    for alpha in (0.0, 0.75, 1.0):
        mix = mix_states(shipped, b, alpha)
        for key in ("compensator", "compensator_raw"):
            for name, t in mix[key].items():
                want = alpha * shipped[key][name] + (1 - alpha) * b[key][name] \
                    if t.is_floating_point() else shipped[key][name]
                assert torch.equal(t, want), (key, name)
        assert mix["decoupler"] is shipped["decoupler"]
        assert mix["config"]["interpolated"]["alpha"] == alpha


def test_refuses_what_is_not_two_fine_tunes_of_one_start(shipped) -> None:
    with pytest.raises(ValueError, match="decoupler differs"):
        mix_states(shipped, _nudged(shipped, "decoupler", 1e-3), 0.5)
    with pytest.raises(ValueError, match="alpha"):
        mix_states(shipped, shipped, 1.5)
    cut = {k: v for k, v in shipped.items() if k != "compensator_raw"}
    with pytest.raises(ValueError, match="different tables"):
        mix_states(shipped, cut, 0.5)


def test_command_writes_a_verified_folder_with_the_same_bytes_twice(shipped, tmp_path) -> None:
    from medeid_gui._resources import models_dir
    from medeid_gui.ml.model import load_model
    from medeid_gui.ml.weights import save_state, sha256_file

    a = tmp_path / "a"
    b = tmp_path / "b"
    shutil.copytree(models_dir(), a)
    shutil.copytree(models_dir(), b)
    save_state(b, COMP_FILE, _nudged(shipped, "compensator", 0.01), model="medeid-compensator",
               card="medeid-compensator.md")
    digests = []
    for name in ("m1", "m2"):
        out = tmp_path / name
        assert run(argparse.Namespace(a=str(a), b=str(b), alpha=0.75, out=str(out))) == 0
        digests.append(sha256_file(out / COMP_FILE))
        load_model(out, "cpu")  # sha256 checked against the manifest on load
    assert digests[0] == digests[1] != sha256_file(a / COMP_FILE)
    assert not (Path(tmp_path / "m1") / (COMP_FILE + ".tmp")).exists()  # nothing half-written left
    with pytest.raises(SystemExit, match="exists"):
        run(argparse.Namespace(a=str(a), b=str(b), alpha=0.75, out=str(tmp_path / "m1")))
