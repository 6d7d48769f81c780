"""Registry of image transforms that the evaluation can judge.

Why a registry: the evaluation must treat the project's own method and the baselines alike, and
the method lives in another module written separately. Anyone registers a transform under a name;
``medeid ml evaluate`` picks every registered name (or the ones asked for).

Contract
--------
``register_method(name, fn, *, description="", version="")`` where ::

    fn(frames: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray

``frames`` is a float32 array (N, H, W) with values in [0, 1] (the cohort's stored resolution,
256 px by default); ``p`` in [0, 1] is the privacy level (0 = weakest, must return the input
unchanged; 1 = strongest); the result has the same shape, float32 in [0, 1]. ``rng`` is the only
source of randomness allowed, so results are reproducible. ``version`` should change whenever
the output would (e.g. the sha256 of the weights the transform loads): the evaluation's cache
recomputes a method's results when its version differs from the cached one.

Plug-ins: :func:`load_plugins` imports every module named in :data:`PLUGIN_MODULES` that exists
(by default ``medeid_gui.lab.method_registry``, which the method's own package provides and which
calls ``register_method`` at import) plus any listed in the environment variable
``MEDEID_EVAL_PLUGINS`` (comma-separated module names). Built-in baselines are registered by
:mod:`medeid_gui.lab.baselines`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Transform = Callable[[np.ndarray, float, np.random.Generator], np.ndarray]

#: modules imported by load_plugins() when they exist
PLUGIN_MODULES: list[str] = ["medeid_gui.lab.baselines", "medeid_gui.lab.method_registry"]


@dataclass(frozen=True)
class Method:
    name: str
    fn: Transform
    description: str = ""
    #: changes whenever the transform's output would change (e.g. the weights' sha256); the
    #: evaluation recomputes cached results whose version differs
    version: str = ""

    def apply(self, frames: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
        """Call the transform and check what it returns, so a broken one fails loudly."""
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"privacy level must be in [0, 1], got {p}")
        x = np.ascontiguousarray(frames, dtype=np.float32)
        if x.ndim != 3:
            raise ValueError(f"frames must be (N, H, W), got shape {x.shape}")
        out = np.asarray(self.fn(x.copy(), float(p), rng))
        if out.shape != x.shape:
            raise ValueError(f"method {self.name!r} changed the shape {x.shape} -> {out.shape}")
        if not np.isfinite(out).all():
            raise ValueError(f"method {self.name!r} returned non-finite values at p={p}")
        return np.clip(out, 0.0, 1.0).astype(np.float32)


_METHODS: dict[str, Method] = {}


def register_method(name: str, fn: Transform, *, description: str = "",
                    replace: bool = True, version: str = "") -> Method:
    if not name or any(c.isspace() or c in "/\\" for c in name):
        raise ValueError(f"bad method name {name!r}")
    if not callable(fn):
        raise TypeError("fn must be callable")
    if name in _METHODS and not replace:
        raise ValueError(f"method {name!r} is already registered")
    m = Method(name, fn, description or (fn.__doc__ or "").strip().split("\n")[0], version)
    _METHODS[name] = m
    return m


def unregister_method(name: str) -> None:
    _METHODS.pop(name, None)


def load_plugins(extra: list[str] | None = None) -> list[str]:
    """Import the plug-in modules that exist; returns those imported.

    A missing plug-in module is skipped (the method may not be built yet); an import error
    *inside* an existing one is raised, so a broken method is never silently left out.
    """
    names = list(PLUGIN_MODULES) + list(extra or [])
    env = os.environ.get("MEDEID_EVAL_PLUGINS", "")
    names += [n.strip() for n in env.split(",") if n.strip()]
    loaded = []
    for mod in dict.fromkeys(names):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name and mod.startswith(exc.name):
                continue
            raise
        loaded.append(mod)
    return loaded


def get_method(name: str) -> Method:
    load_plugins()
    try:
        return _METHODS[name]
    except KeyError:
        raise KeyError(f"unknown method {name!r}; registered: {', '.join(method_names())}") from None


def method_names() -> list[str]:
    load_plugins()
    return list(_METHODS)
