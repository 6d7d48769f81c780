"""packaging/installer_text.py: desktop entry, Debian control and Info.plist as their tools read them."""

from __future__ import annotations

import importlib.util
import plistlib
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("installer_text", ROOT / "packaging" / "installer_text.py")
assert _spec and _spec.loader
it = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(it)


def _desktop_fields(text: str) -> dict[str, str]:
    lines = text.splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:])


def test_desktop_entry_fields() -> None:
    f = _desktop_fields(it.desktop_entry("/usr/bin/medeid-gui"))
    assert f["Type"] == "Application" and f["Exec"] == "/usr/bin/medeid-gui %F"
    assert f["TryExec"] == "/usr/bin/medeid-gui" and f["Icon"] == "medeid" and f["Terminal"] == "false"
    assert f["Categories"].endswith(";") and "application/dicom" in f["MimeType"]


def test_desktop_entry_refuses_a_path_that_would_need_quoting() -> None:
    with pytest.raises(ValueError):
        it.desktop_entry("/opt/my apps/medeid-gui")


def test_desktop_escape() -> None:
    assert it._desktop_escape("a\\b\nc\td") == "a\\\\b\\nc\\td"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_entry_validates(tmp_path: Path) -> None:
    path = tmp_path / f"{it.APP_ID}.desktop"
    path.write_text(it.desktop_entry(), encoding="utf-8")
    done = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_control_file_fields_and_folding() -> None:
    text = it.deb_control("0.1.0", "amd64", 654321)
    head, _, rest = text.partition("Description: ")
    fields = dict(line.split(": ", 1) for line in head.splitlines())
    assert fields["Package"] == "medeid" and fields["Version"] == "0.1.0"
    assert fields["Architecture"] == "amd64" and fields["Installed-Size"] == "654321"
    assert "libc6" in fields["Depends"]
    summary, *long_lines = rest.splitlines()
    assert summary == it.SUMMARY and long_lines
    assert all(ln.startswith(" ") and len(ln) <= 80 and ln.strip() for ln in long_lines)
    assert " ".join(ln.strip() for ln in long_lines) == " ".join(it.DESCRIPTION.split())
    assert text.endswith("\n")


@pytest.mark.parametrize("args", [("0.1 0", "amd64", 1), ("0.1.0", "AMD64", 1), ("0.1.0", "amd64", 0)])
def test_control_file_refuses_bad_values(args: tuple[str, str, int]) -> None:
    with pytest.raises(ValueError):
        it.deb_control(*args)


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb not installed")
def test_control_file_is_accepted_by_dpkg_deb(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "DEBIAN" / "control").write_text(it.deb_control("0.1.0", "all", 1), encoding="utf-8")
    (pkg / "usr" / "share" / "medeid").mkdir(parents=True)
    (pkg / "usr" / "share" / "medeid" / "x").write_text("x")
    deb = tmp_path / "x.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(pkg), str(deb)], check=True,
                   capture_output=True)
    info = subprocess.run(["dpkg-deb", "--field", str(deb), "Package", "Version"], capture_output=True,
                          text=True, check=True).stdout
    assert "Package: medeid" in info and "Version: 0.1.0" in info


def test_info_plist_parses_with_the_bundle_settings() -> None:
    data = plistlib.loads(it.info_plist("0.1.0+git.abc").encode())
    assert data["CFBundleIdentifier"] == it.APP_ID and data["CFBundleExecutable"] == "medeid-gui"
    assert data["CFBundleIconFile"] == "medeid.icns" and data["LSMinimumSystemVersion"] == it.MACOS_MINIMUM
    assert data["CFBundleShortVersionString"] == "0.1.0" and data["CFBundleVersion"] == "0.1.0+git.abc"
    assert data["NSHighResolutionCapable"] is True
    assert "dcm" in data["CFBundleDocumentTypes"][0]["CFBundleTypeExtensions"]


def test_command_line_writes_each_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert it.main(["desktop", "--exec", "/usr/bin/medeid-gui"]) == 0
    assert capsys.readouterr().out == it.desktop_entry("/usr/bin/medeid-gui")
    assert it.main(["plist", "--version", "1.2.3"]) == 0
    assert plistlib.loads(capsys.readouterr().out.encode())["CFBundleVersion"] == "1.2.3"


def test_icons_exist_in_every_size_the_installers_name() -> None:
    icons = ROOT / "resources" / "icons"
    for size in (16, 32, 48, 64, 128, 256, 512):
        png = icons / f"medeid-{size}.png"
        head = png.read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(head[16:20], "big") == size == int.from_bytes(head[20:24], "big")
    assert (icons / "medeid.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"
    assert (icons / "medeid.icns").read_bytes()[:4] == b"icns"
    assert b"<svg" in (icons / "medeid.svg").read_bytes()
