from __future__ import annotations

import sys

import numpy as np
import pytest

from medeid_gui.lab import registry


def test_register_apply_and_unregister():
    def invert(frames, p, rng):
        return (1 - frames) * p + frames * (1 - p)

    registry.register_method("test-invert", invert, description="invert by p")
    try:
        m = registry.get_method("test-invert")
        assert "test-invert" in registry.method_names() and m.description == "invert by p"
        x = np.random.default_rng(0).random((2, 8, 8)).astype(np.float32)
        assert np.allclose(m.apply(x, 1.0, np.random.default_rng(0)), 1 - x)
        with pytest.raises(ValueError):
            m.apply(x, 1.5, np.random.default_rng(0))
        with pytest.raises(ValueError):
            m.apply(x[0], 0.5, np.random.default_rng(0))
        with pytest.raises(ValueError):
            registry.register_method("test-invert", invert, replace=False)
    finally:
        registry.unregister_method("test-invert")
    with pytest.raises(KeyError):
        registry.get_method("test-invert")


def test_broken_methods_fail_loudly():
    registry.register_method("test-crop", lambda f, p, r: f[:, 1:])
    registry.register_method("test-nan", lambda f, p, r: f * np.nan)
    try:
        x = np.zeros((1, 4, 4), np.float32)
        with pytest.raises(ValueError, match="shape"):
            registry.get_method("test-crop").apply(x, 0.5, np.random.default_rng(0))
        with pytest.raises(ValueError, match="non-finite"):
            registry.get_method("test-nan").apply(x, 0.5, np.random.default_rng(0))
    finally:
        registry.unregister_method("test-crop")
        registry.unregister_method("test-nan")
    with pytest.raises(ValueError):
        registry.register_method("has space", lambda f, p, r: f)


def test_plugins_from_environment(tmp_path, monkeypatch):
    (tmp_path / "my_eval_plugin.py").write_text(
        "from medeid_gui.lab.registry import register_method\n"
        "register_method('test-plugin', lambda f, p, r: f * (1 - p))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("MEDEID_EVAL_PLUGINS", "my_eval_plugin, not_a_module_anywhere")
    try:
        assert "my_eval_plugin" in registry.load_plugins()
        assert "test-plugin" in registry.method_names()
    finally:
        registry.unregister_method("test-plugin")
        sys.modules.pop("my_eval_plugin", None)
    # a plug-in that exists but fails inside is not silently skipped
    (tmp_path / "bad_eval_plugin.py").write_text("import not_installed_dependency_xyz\n")
    monkeypatch.setenv("MEDEID_EVAL_PLUGINS", "bad_eval_plugin")
    with pytest.raises(ModuleNotFoundError):
        registry.load_plugins()


def test_baselines_are_registered():
    assert {"identity", "blur", "pixelate", "dp-pix", "random-block"} <= set(registry.method_names())
