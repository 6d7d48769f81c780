"""buildinfo: the facts ``medeid --version`` and the About box show, from real files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from medeid_gui import __version__, buildinfo
from medeid_gui._resources import models_dir, resource


def test_stamp_round_trip(tmp_path: Path) -> None:
    assert buildinfo.read_stamp(tmp_path) is None
    (tmp_path / buildinfo.STAMP_NAME).write_text(json.dumps({"commit": "0123456789ab", "dirty": True,
                                                             "built": "2026-12-02T19:00:00Z"}))
    stamp = buildinfo.read_stamp(tmp_path)
    assert stamp == buildinfo.BuildStamp("0123456789ab", True, "2026-12-02T19:00:00Z")
    assert buildinfo.commit_text(stamp) == "0123456789ab+changes, built 2026-12-02T19:00:00Z"


def test_broken_stamp_is_ignored(tmp_path: Path) -> None:
    (tmp_path / buildinfo.STAMP_NAME).write_text("{not json")
    assert buildinfo.read_stamp(tmp_path) is None


def test_git_commit_of_a_checkout_and_of_a_plain_folder(tmp_path: Path) -> None:
    assert buildinfo.git_commit(tmp_path) == "unknown"
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    run = lambda *a: subprocess.run(["git", "-C", str(tmp_path), *a], check=True, capture_output=True)  # noqa: E731 - a one-line shell helper reads best as a lambda
    run("init", "-q")
    (tmp_path / "f").write_text("1")
    run("add", "f")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert buildinfo.git_commit(tmp_path) == head[:12]
    (tmp_path / "f").write_text("2")
    assert buildinfo.git_commit(tmp_path) == head[:12] + "+changes"


def test_profile_edition_names_the_revision_of_the_shipped_table() -> None:
    text = buildinfo.profile_edition()
    data = json.loads(next(resource("profiles").glob("*.json")).read_text(encoding="utf-8"))
    assert f"PS3.15 {data['revision']}" in text and "E.1-1" in text


def test_models_are_verified_and_a_changed_byte_is_reported(tmp_path: Path) -> None:
    lines, problems = buildinfo.model_lines(user_dir=tmp_path / "none")
    assert not problems
    [shipped] = lines
    manifest = json.loads((models_dir() / "manifest.json").read_text(encoding="utf-8"))
    assert shipped.name == manifest["name"] and shipped.domain == manifest["domain"]["name"]
    assert shipped.verified == "verified" and len(shipped.digest) == 64
    assert Path(shipped.folder) == models_dir()
    assert dict(shipped.files) == {k: v["sha256"] for k, v in manifest["files"].items()}

    copy = tmp_path / "models"
    shutil.copytree(models_dir(), copy)
    weights = next(copy.glob("*.pt"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    [tampered], _ = buildinfo.model_lines(shipped_dir=copy, user_dir=tmp_path / "none")
    assert tampered.verified.startswith("NOT VERIFIED") and weights.name in tampered.verified


def test_missing_models_folder_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    lines, problems = buildinfo.model_lines(shipped_dir=tmp_path / "absent", user_dir=tmp_path / "none")
    assert lines == [] and len(problems) == 1


def test_ocr_line_lists_the_onnx_models() -> None:
    assert ".onnx" in buildinfo.ocr_line()


def test_version_text_and_about_html_carry_every_fact() -> None:
    info = buildinfo.BuildInfo(
        version="9.9", commit="abc<def>", profile="DICOM PS3.15 2024b", torch="torch 2 (CPU build), device cpu",
        ocr="rapidocr 3", models=(buildinfo.ModelLine("m", "f" * 64, "chest & more", True, "verified",
                                                       (("a.pt", "e" * 64),)),),
        problems=("x: broken",))
    text = buildinfo.version_text(info)
    for needle in ("medeid 9.9", "commit abc<def>", "PS3.15 2024b", "CPU build", "sha256 " + "f" * 64,
                   "domain: chest & more", "a.pt sha256 " + "e" * 64, "problem x: broken"):
        assert needle in text
    page = buildinfo.about_html(info)
    assert "abc&lt;def&gt;" in page and "chest &amp; more" in page and "f" * 64 in page
    assert "<def>" not in page


def test_cli_version_prints_the_facts_and_help_stays_torch_free() -> None:
    out = subprocess.run([sys.executable, "-m", "medeid_gui", "--version"], capture_output=True, text=True,
                         timeout=240, check=True).stdout
    assert out.startswith(f"medeid {__version__}\n")
    assert "torch " in out and "profile DICOM PS3.15" in out and "(shipped, verified)" in out
    probe = ("import sys; from medeid_gui.cli import build_parser; build_parser(); "
             "print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          check=True).stdout.strip() == "False"
