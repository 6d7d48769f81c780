"""Render resources/icons/medeid.svg into the PNG sizes, the Windows .ico and the macOS .icns.

Why rendered once and committed: the installers (dpkg-deb, Inno Setup, the macOS .app) take
ready-made raster files, and the build machines of each system should not need an SVG renderer.
Run again after changing the SVG:  QT_QPA_PLATFORM=offscreen python3 packaging/make_icons.py
Needs PySide6 (QtSvg renders the SVG) and Pillow (writes .ico and .icns).
"""

from __future__ import annotations

import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
#: freedesktop hicolor sizes; 1024 only feeds the .icns (macOS Retina 512@2x)
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path, size: int, out: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(out)):
        raise SystemExit(f"could not write {out}")


def main() -> int:
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - QImage needs it
    svg = ICONS / "medeid.svg"
    for size in SIZES:
        render(svg, size, ICONS / f"medeid-{size}.png")
    big = ICONS / "medeid-1024.png"
    render(svg, 1024, big)
    try:
        master = Image.open(big).convert("RGBA")
        master.save(ICONS / "medeid.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
        master.save(ICONS / "medeid.icns")
    finally:
        big.unlink()
    print("\n".join(sorted(p.name for p in ICONS.iterdir())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
