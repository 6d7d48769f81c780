"""Choice of the torch device for inference and training.

Why one place: the app, the CLI and the training all have to agree on the rule — CUDA when it is
present (or Apple MPS), the CPU otherwise — and a site must be able to force one
(``MEDEID_DEVICE=cpu``) e.g. when a shared GPU is busy. Imports torch only when called.
"""

from __future__ import annotations

import os


def pick_device(preferred: str | None = None) -> str:
    """``preferred`` if given (checked), else ``$MEDEID_DEVICE``, else cuda > mps > cpu."""
    import torch

    want = (preferred or os.environ.get("MEDEID_DEVICE") or "").strip().lower()
    if want:
        if want.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(f"device {want!r} requested but CUDA is not available here")
        if want == "mps" and not (getattr(torch.backends, "mps", None)
                                  and torch.backends.mps.is_available()):
            raise RuntimeError("device 'mps' requested but it is not available here")
        if not (want == "cpu" or want == "mps" or want.startswith("cuda")):
            raise ValueError(f"unknown device {want!r}; use cpu, cuda, cuda:N or mps")
        return want
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def device_name(device: str) -> str:
    """Human-readable name, e.g. 'CPU (2 threads)' or the GPU's model name."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    if device == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"
