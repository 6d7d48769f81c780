"""The application's icon and desktop identity, for every window and the About box.

Why one place: the icon set lives in ``resources/icons`` (SVG source plus PNG sizes, made by
``packaging/make_icons.py``); the window, the About box and the desktop entry of the Linux
package must show the same picture, and the desktop file name Qt reports to the window manager
(Wayland app id, X11 WM_CLASS matching) must be the one ``packaging/build_deb.sh`` installs.
"""

from __future__ import annotations

import logging
import re

from PySide6.QtGui import QGuiApplication, QIcon, QPixmap

log = logging.getLogger("medeid.ui")

#: the basename of the desktop entry ``packaging/build_deb.sh`` installs
DESKTOP_FILE_NAME = "org.medeid.medeid"
_SIZE = re.compile(r"medeid-(\d+)\.png$")


def app_icon() -> QIcon:
    """Every PNG size of the icon set (Qt picks the nearest), or a null icon when none is found.

    PNGs rather than the SVG: they are drawn per size (the small ones simplified) and need no
    SVG image plugin, which a trimmed bundle may lack.
    """
    from medeid_gui._resources import resource

    icon = QIcon()
    try:
        folder = resource("icons")
    except FileNotFoundError as exc:
        log.warning("no icon: %s", exc)
        return icon
    for path in sorted(folder.glob("medeid-*.png")):
        if _SIZE.search(path.name):
            icon.addFile(str(path))
    if icon.isNull():
        log.warning("no icon PNGs in %s", folder)
    return icon


def icon_pixmap(side: int) -> QPixmap:
    """The icon drawn at ``side`` pixels (the About box shows it large)."""
    return app_icon().pixmap(side, side)


def apply_identity(app: QGuiApplication) -> None:
    """Window icon for every window, and the desktop file name the window manager matches."""
    app.setWindowIcon(app_icon())
    QGuiApplication.setDesktopFileName(DESKTOP_FILE_NAME)
