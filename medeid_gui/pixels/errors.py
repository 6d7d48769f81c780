"""The pixel step's exceptions, in a module of their own so that ``clean`` and ``privacy_gate``
both raise them without importing each other."""

from __future__ import annotations

__all__ = ["PixelCleanError", "PrivacyRefused"]


class PixelCleanError(Exception):
    """The pixels needed cleaning but could not be (undecodable, unsupported format).

    The dataset is left as it was; the caller must not export it as if it were clean.
    """


class PrivacyRefused(PixelCleanError):
    """``--strict-privacy``: the method was asked for but may not run on this image (no installed
    model's domain admits it, or the model finds it unfamiliar)."""
