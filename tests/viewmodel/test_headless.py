"""The view model is headless: no Qt, no torch, no pydicom at import; its small helpers work."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np

import medeid_gui.viewmodel as vm
from medeid_gui.viewmodel.events import Event
from medeid_gui.viewmodel.logs import log_dir
from medeid_gui.viewmodel.window_level import WindowLevel


def test_importing_the_view_model_loads_no_qt_torch_or_pydicom() -> None:
    mods = ["medeid_gui.viewmodel"] + [m.name for m in pkgutil.walk_packages(vm.__path__, "medeid_gui.viewmodel.")]
    code = (
        f"import importlib, json, sys\nfor m in {mods!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    bad = sorted(m for m in loaded if m.split(".")[0] in {"PySide6", "pyqtgraph", "superqt", "torch", "pydicom"})
    assert not bad
    assert len(mods) >= 8


def test_event_calls_each_callback_in_order_and_can_disconnect() -> None:
    ev: Event[int] = Event()
    got: list[tuple[str, int]] = []

    def a(v: int) -> None:
        got.append(("a", v))

    ev.connect(a)
    ev.connect(lambda v: got.append(("b", v)))
    ev.emit(1)
    ev.disconnect(a)
    ev.emit(2)
    assert got == [("a", 1), ("b", 1), ("b", 2)]


def test_window_level_from_data_and_levels() -> None:
    w = WindowLevel(40.0, 400.0)
    assert w.levels == (-160.0, 240.0)
    ramp = np.arange(10100, dtype=np.float32).reshape(100, 101)  # 1st..99th percentile: 100.99..9998.01
    d = WindowLevel.from_data(ramp)
    assert abs(d.center - 5049.5) < 0.01 and abs(d.width - 9897.02) < 0.01
    assert WindowLevel.from_data(np.full((4, 4), np.nan, dtype=np.float32)) == WindowLevel(0.0, 1.0)
    assert WindowLevel.of(w) == w


def test_log_dir_follows_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDEID_LOG_DIR", str(tmp_path / "logs"))
    assert log_dir() == tmp_path / "logs"
    monkeypatch.delenv("MEDEID_LOG_DIR")
    assert log_dir().name  # the platform's per-user folder


def test_demo_paths_include_pydicoms_samples() -> None:
    from medeid_gui.viewmodel.demo import demo_paths

    names = {p.name for p in demo_paths()}
    assert {"CT_small.dcm", "MR_small.dcm"} <= names


def test_project_key_is_created_once_per_path(monkeypatch, tmp_path: Path) -> None:
    from medeid_gui.viewmodel.project_key import project_key

    path = str(tmp_path / "k" / "project.key")
    k1 = project_key(path)
    assert Path(path).is_file() and project_key(path) is k1
