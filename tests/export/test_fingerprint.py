"""The settings fingerprint refuses to resume a privacy export after the installed models change."""

from __future__ import annotations

import shutil
from pathlib import Path

from medeid_gui.export.config import ExportConfig
from medeid_gui.export.fingerprint import PIXEL_POLICY, settings_fingerprint
from medeid_gui.pixels.clean import PixelRequest
from tests.model_domains import declare_domain


def _site_model(dst: Path) -> Path:
    from medeid_gui._resources import models_dir

    shutil.copytree(models_dir(), dst)
    return declare_domain(dst)


def test_installing_a_site_model_changes_a_privacy_exports_fingerprint(tmp_path, monkeypatch) -> None:
    user = tmp_path / "user-models"
    user.mkdir()
    monkeypatch.setenv("MEDEID_USER_MODELS", str(user))
    cfg = ExportConfig(input=tmp_path / "in", output=tmp_path / "out", privacy=0.5)
    header_cfg = ExportConfig(input=tmp_path / "in", output=tmp_path / "out")
    privacy = PixelRequest(privacy=0.5)
    text_only = PixelRequest(privacy=0.0)
    before = settings_fingerprint(cfg, "k", privacy)
    text_before = settings_fingerprint(header_cfg, "k", text_only)
    header_before = settings_fingerprint(header_cfg, "k", None)
    assert f'"pixel_policy": "{PIXEL_POLICY}"' in before and '"models": ' in before
    assert '"models": ' not in text_before  # no model runs: installing one changes nothing
    assert '"pixel_policy"' not in header_before

    _site_model(user / "site-any-image")
    assert settings_fingerprint(cfg, "k", privacy) != before
    assert settings_fingerprint(header_cfg, "k", text_only) == text_before
    assert settings_fingerprint(header_cfg, "k", None) == header_before

