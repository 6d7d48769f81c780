"""Model-card text follows the training run's device: the command names CUDA, and a CUDA run does
not claim bit-reproducibility (two CUDA runs with one seed were seen to part)."""

from __future__ import annotations

from medeid_gui.lab.method_cards import _command, _repro_line
from medeid_gui.lab.train_method import TrainConfig


def _cfg(**kw) -> dict:
    d = TrainConfig("", "", "")
    cfg = {k: getattr(d, k) for k in d.__dataclass_fields__}
    cfg.update(steps={"reid": 1200, "comp": 1500}, seed=1, **kw)
    return cfg


def test_cuda_run_names_the_device_and_does_not_promise_the_same_weights() -> None:
    info = {"device": "cuda", "threads": 16, "cohort": {"config": {}}}
    cmd = _command(_cfg(), info)
    assert cmd.startswith("medeid ml train COHORT --seed 1 --steps reid=1200,comp=1500")
    assert "--device cuda" in cmd and "--threads" not in cmd
    assert "cannot be reproduced bit for bit" in _repro_line(info)


def test_cpu_run_keeps_its_threads_and_the_reproducibility_promise() -> None:
    info = {"device": "cpu", "threads": 1, "cohort": {"config": {}}}
    cmd = _command(_cfg(lesion_weight=16.0), info)
    assert "--threads 1" in cmd and "--device" not in cmd and "--lesion-weight 16.0" in cmd
    line = _repro_line(info)
    assert "same weights" in line and "CUDA" not in line
