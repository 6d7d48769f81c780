"""Text of the installer metadata files: desktop entry, Debian control, macOS Info.plist.

Why generated, not hand-written: the version, the installed size and the paths must agree with
the bundle that was just built, on every system, and each format has rules that are easy to break
by hand (desktop entries: keys, escaping, Categories; control: folded fields; plist: XML). One
function per file keeps the rules testable (tests/packaging/test_installer_text.py).

Command line (used by packaging/build_deb.sh and packaging/macos/build_app.sh):
    python3 packaging/installer_text.py desktop  --exec /usr/bin/medeid-gui
    python3 packaging/installer_text.py control  --version 0.1.0 --arch amd64 --installed-kb 700000
    python3 packaging/installer_text.py plist    --version 0.1.0
"""

from __future__ import annotations

import argparse
import plistlib
import re
import sys

APP_ID = "org.medeid.medeid"  #: reverse-DNS id: desktop file name, macOS bundle id, Inno AppId seed
NAME = "medeid"
SUMMARY = "De-identify medical image studies (DICOM)"
DESCRIPTION = (
    "medeid removes patient identity from DICOM studies: the PS3.15 Application Level "
    "Confidentiality Profile on the headers, burned-in text found by OCR, and an adjustable "
    "privacy level on the pixels of frontal chest radiographs. Desktop application (medeid-gui) "
    "and command line (medeid); models and OCR are bundled, no network is needed."
)
MACOS_MINIMUM = "12.0"  #: PySide6 6.7-6.11 wheels and torch's arm64/x86_64 wheels need macOS 12+
#: libraries of the Qt xcb platform plugin and OpenGL that the bundle takes from the system
DEB_DEPENDS = ("libc6 (>= 2.28)", "libfontconfig1", "libfreetype6", "libglib2.0-0 | libglib2.0-0t64",
               "libdbus-1-3", "libegl1", "libgl1", "libxkbcommon0")
DEB_RECOMMENDS = ("libxkbcommon-x11-0", "libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1",
                  "libxcb-shape0", "libxcb-xinerama0", "libxcb-randr0", "libxcb-render-util0",
                  "libxcb-image0", "desktop-file-utils")

_VERSION = re.compile(r"^[0-9][A-Za-z0-9.+~-]*$")


def _check_version(version: str) -> str:
    if not _VERSION.match(version):
        raise ValueError(f"not a package version: {version!r}")
    return version


def _desktop_escape(value: str) -> str:
    """Escape a string value per the Desktop Entry spec (backslash, newline, tab, CR)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def desktop_entry(exec_path: str = "/usr/bin/medeid-gui", icon: str = NAME) -> str:
    """freedesktop .desktop file; ``%F`` lets a file manager hand over DICOM files and folders."""
    if any(c in exec_path for c in " \t\n\"'\\`$"):
        raise ValueError(f"Exec path needs quoting, choose a plain path: {exec_path!r}")
    fields = [
        ("Type", "Application"),
        ("Version", "1.4"),
        ("Name", NAME),
        ("GenericName", "DICOM de-identification"),
        ("Comment", _desktop_escape(SUMMARY)),
        ("Exec", f"{exec_path} %F"),
        ("TryExec", exec_path),
        ("Icon", icon),
        ("Terminal", "false"),
        ("Categories", "Science;MedicalSoftware;"),
        ("Keywords", "DICOM;anonymize;anonymise;de-identification;privacy;radiology;"),
        ("MimeType", "application/dicom;"),
    ]
    return "[Desktop Entry]\n" + "".join(f"{k}={v}\n" for k, v in fields)


def deb_control(version: str, arch: str, installed_kb: int, *,
                maintainer: str = "medeid maintainers <medeid@localhost>") -> str:
    """DEBIAN/control: Description's long part folded to lines that begin with one space."""
    _check_version(version)
    if not re.fullmatch(r"[a-z0-9-]+", arch):
        raise ValueError(f"not a Debian architecture: {arch!r}")
    if installed_kb <= 0:
        raise ValueError("installed size must be positive (KiB)")
    long_lines, line = [], ""
    for word in DESCRIPTION.split():
        if line and len(line) + 1 + len(word) > 78:
            long_lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    long_lines.append(line)
    fields = [
        ("Package", NAME), ("Version", version), ("Architecture", arch), ("Maintainer", maintainer),
        ("Installed-Size", str(installed_kb)), ("Depends", ", ".join(DEB_DEPENDS)),
        ("Recommends", ", ".join(DEB_RECOMMENDS)), ("Section", "science"), ("Priority", "optional"),
        ("Homepage", "https://github.com/medeid/medeid"),
    ]
    body = "".join(f"{k}: {v}\n" for k, v in fields)
    return body + f"Description: {SUMMARY}\n" + "".join(f" {ln}\n" for ln in long_lines)


def info_plist(version: str, *, executable: str = "medeid-gui", icon_file: str = "medeid.icns",
               minimum: str = MACOS_MINIMUM) -> str:
    """Contents/Info.plist of medeid.app (the settings PyInstaller's BUNDLE would otherwise guess)."""
    _check_version(version)
    short = re.match(r"[0-9]+(\.[0-9]+){0,2}", version)
    plist = {
        "CFBundleName": NAME,
        "CFBundleDisplayName": NAME,
        "CFBundleIdentifier": APP_ID,
        "CFBundleExecutable": executable,
        "CFBundleIconFile": icon_file,
        "CFBundlePackageType": "APPL",
        "CFBundleShortVersionString": short.group(0) if short else "0.0.0",
        "CFBundleVersion": version,
        "CFBundleInfoDictionaryVersion": "6.0",
        "LSMinimumSystemVersion": minimum,
        "LSApplicationCategoryType": "public.app-category.medical",
        "NSHighResolutionCapable": True,
        "NSRequiresAquaSystemAppearance": False,
        "NSHumanReadableCopyright": "Apache-2.0; bundled components under their own licences (licences/)",
        "CFBundleDocumentTypes": [{
            "CFBundleTypeName": "DICOM image",
            "CFBundleTypeRole": "Viewer",
            "LSHandlerRank": "Alternate",
            "CFBundleTypeExtensions": ["dcm", "dicom"],
        }],
    }
    return plistlib.dumps(plist, sort_keys=True).decode("utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    d = sub.add_parser("desktop")
    d.add_argument("--exec", dest="exec_path", default="/usr/bin/medeid-gui")
    c = sub.add_parser("control")
    c.add_argument("--version", required=True)
    c.add_argument("--arch", required=True)
    c.add_argument("--installed-kb", type=int, required=True)
    m = sub.add_parser("plist")
    m.add_argument("--version", required=True)
    a = p.parse_args(argv)
    if a.what == "desktop":
        sys.stdout.write(desktop_entry(a.exec_path))
    elif a.what == "control":
        sys.stdout.write(deb_control(a.version, a.arch, a.installed_kb))
    else:
        sys.stdout.write(info_plist(a.version))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
