"""Persistent user settings: last folders, recent items, profile, options, device, geometry.

Why a wrapper: QSettings returns strings/None/lists inconsistently across platforms; one typed
place keeps the keys and their defaults together. The file lives where platformdirs says the
user's configuration belongs (``user_config_dir("medeid")/medeid.ini``) so the CLI and the app agree
on one location; ``MEDEID_SETTINGS`` overrides it (tests use a temporary file).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 10


def settings_path() -> Path:
    override = os.environ.get("MEDEID_SETTINGS")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir("medeid")) / "medeid.ini"


class Settings:
    """Typed accessors over one QSettings INI file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or settings_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    # -- plain values ---------------------------------------------------------------------
    def _str(self, key: str, default: str = "") -> str:
        v = self._qs.value(key, default)
        return str(v) if v is not None else default

    @property
    def last_open_dir(self) -> str:
        return self._str("paths/last_open", str(Path.home()))

    @last_open_dir.setter
    def last_open_dir(self, value: str) -> None:
        self._qs.setValue("paths/last_open", value)

    @property
    def last_export_dir(self) -> str:
        return self._str("paths/last_export", str(Path.home() / "medeid-export"))

    @last_export_dir.setter
    def last_export_dir(self, value: str) -> None:
        self._qs.setValue("paths/last_export", value)

    @property
    def profile(self) -> str:
        return self._str("deid/profile", "basic")

    @profile.setter
    def profile(self, value: str) -> None:
        self._qs.setValue("deid/profile", value)

    @property
    def options(self) -> list[str]:
        """Option ``cli_name``s chosen on top of the profile."""
        v = self._qs.value("deid/options", [])
        if isinstance(v, str):
            return [v] if v else []
        return [str(x) for x in (v or [])]

    @options.setter
    def options(self, value: list[str]) -> None:
        self._qs.setValue("deid/options", list(value))

    @property
    def device(self) -> str:
        """"auto", "cpu", "cuda" or "mps" — handed to the inference engine."""
        return self._str("ml/device", "auto")

    @device.setter
    def device(self, value: str) -> None:
        self._qs.setValue("ml/device", value)

    @property
    def privacy(self) -> int:
        try:
            return int(self._qs.value("ml/privacy", 50))
        except (TypeError, ValueError):
            return 50

    @privacy.setter
    def privacy(self, value: int) -> None:
        self._qs.setValue("ml/privacy", int(value))

    # -- recent items ---------------------------------------------------------------------
    def recent(self) -> list[str]:
        v = self._qs.value("paths/recent", [])
        if isinstance(v, str):
            v = [v] if v else []
        return [str(x) for x in (v or [])]

    def add_recent(self, path: str) -> list[str]:
        items = [path] + [p for p in self.recent() if p != path]
        items = items[:MAX_RECENT]
        self._qs.setValue("paths/recent", items)
        return items

    def clear_recent(self) -> None:
        self._qs.setValue("paths/recent", [])

    # -- window ---------------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        v = self._qs.value("window/geometry")
        return v if isinstance(v, QByteArray) else None

    def state(self) -> QByteArray | None:
        v = self._qs.value("window/state")
        return v if isinstance(v, QByteArray) else None

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self._qs.setValue("window/geometry", geometry)
        self._qs.setValue("window/state", state)

    def sync(self) -> None:
        self._qs.sync()
