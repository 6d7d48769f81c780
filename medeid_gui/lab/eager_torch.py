"""Training in the installer bundle, which leaves torch's compiler (``torch._dynamo``) out.

Why: the bundle has a size target (packaging/README.md) and leaves out torch's compiler stack:
``torch._dynamo`` alone pulls in sympy, mpmath, ``torch._inductor``, ``torch.onnx`` and most of
``torch.distributed`` (828 modules).  Inference never touches it, but torch's optimizers do, in
eager mode too: ``Optimizer.add_param_group``/``zero_grad`` are wrapped by
``torch._disable_dynamo`` and ``step`` by ``_use_grad_for_differentiable``, each of which imports
``torch._dynamo`` on first use only to call ``disable(fn)`` (a marker for the compiler) and
``graph_break()`` (a no-op outside a compiled frame).  Nothing here compiles, so with dynamo absent
those two calls are given exactly their eager meaning: ``disable(fn)`` is ``fn``, ``graph_break()``
does nothing.  Only installed when ``import torch._dynamo`` fails for want of that module; a full
torch (source installs) is never touched.  tests/packaging/test_runtime_without_scipy.py trains
with the bundle's left-out modules blocked and checks the weights equal a normal run's.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable

__all__ = ["ensure_dynamo"]

NAME = "torch._dynamo"


def _graph_break() -> None:
    """Outside a compiled frame (always, here) a graph break is nothing."""


def _disable(fn: Callable | None = None, recursive: bool = True, *, reason: str | None = None,
             wrapping: bool = True) -> Callable:
    """``torch._dynamo.disable`` without a compiler: the function itself (or, as a decorator
    factory, the identity)."""
    if fn is None:
        return lambda f: f
    return fn


def ensure_dynamo() -> bool:
    """Make ``import torch._dynamo`` work for eager training; True when the eager stand-in was
    installed (the module is absent), False when torch has its own."""
    import torch

    try:
        import torch._dynamo
        return False
    except ModuleNotFoundError as exc:
        if exc.name != NAME:  # dynamo is there but something it needs is not: not ours to hide
            raise
    mod = types.ModuleType(NAME, "eager stand-in: torch's compiler is not in this installation "
                                 "(medeid_gui.lab.eager_torch)")
    mod.graph_break = _graph_break  # type: ignore[attr-defined]
    mod.disable = _disable  # type: ignore[attr-defined]
    mod.is_compiling = lambda: False  # type: ignore[attr-defined]
    sys.modules[NAME] = mod
    torch._dynamo = mod  # type: ignore[attr-defined]
    return True
