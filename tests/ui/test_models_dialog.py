"""Settings > Privacy Models…: the installed models listed; a real archive exported and imported;
a one-byte-tampered or incomplete archive refused with the reason shown."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from ui_helpers import error_dialogs

from medeid_gui._resources import models_dir
from medeid_gui.ml.model_registry import describe_model
from medeid_gui.ui.models_dialog import COLUMNS, ModelsDialog

WEIGHTS = "medeid-compensator.pt"


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    d = tmp_path / "user-models"
    d.mkdir()
    return d


@pytest.fixture
def exported(qtbot, tmp_path: Path, user_dir: Path) -> Path:
    """The shipped model exported through the dialog (a real archive, every byte verified)."""
    dlg = ModelsDialog(user_dir=user_dir)
    qtbot.addWidget(dlg)
    assert dlg.selected() is not None and dlg.selected().shipped
    archive = tmp_path / "shipped.zip"
    assert dlg.export_to(archive)
    assert "Exported" in dlg.status.text()
    return archive


def _rewrite(src: Path, dst: Path, *, flip: str | None = None, drop: str | None = None) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == drop:
                continue
            if info.filename == flip:
                data = data[:1000] + bytes([data[1000] ^ 0x01]) + data[1001:]
            zout.writestr(info, data)
    return dst


def test_lists_the_shipped_model_in_one_line(qtbot, user_dir: Path) -> None:
    shipped = describe_model(models_dir(), shipped=True)
    dlg = ModelsDialog(user_dir=user_dir)
    qtbot.addWidget(dlg)
    assert dlg.table.rowCount() == 1
    cells = {COLUMNS[c]: dlg.table.item(0, c).text() for c in range(len(COLUMNS))}
    assert cells["Model"] == f"{shipped.name} (shipped)"
    assert cells["Domain"] == shipped.domain.name == "frontal chest radiographs"
    assert cells["Training data"] == shipped.domain.trained_on and "generated" in cells["Training data"]
    assert cells["Licence"] == shipped.licence and "Apache-2.0" in cells["Licence"]
    assert cells["Evaluation"] == shipped.evaluation and "AUC" in cells["Evaluation"]
    assert cells["sha256"] == shipped.digest and len(shipped.digest) == 64
    assert all("\n" not in t for t in cells.values())
    assert dlg.export_button.isEnabled()
    details = dlg.details.text().splitlines()
    assert f"sha256: {shipped.digest}" in details and f"Evaluation: {shipped.evaluation}" in details


def test_import_of_a_real_archive_installs_it(qtbot, exported: Path, user_dir: Path) -> None:
    dlg = ModelsDialog(user_dir=user_dir)
    qtbot.addWidget(dlg)
    with qtbot.waitSignal(dlg.modelsChanged, timeout=5000):
        model = dlg.import_from(exported)
    assert model is not None and not model.shipped
    assert model.digest == describe_model(models_dir()).digest  # same bytes, same identity
    assert model.folder.parent == user_dir and (model.folder / WEIGHTS).is_file()
    assert dlg.table.rowCount() == 2
    assert dlg.table.item(0, 0).text() == f"{model.name} (site)"  # a site model comes first
    assert dlg.selected() == dlg.models[0]
    assert "Installed" in dlg.status.text() and not error_dialogs()


def test_one_byte_tampered_archive_is_refused(qtbot, exported: Path, tmp_path: Path,
                                              user_dir: Path, close_dialogs) -> None:
    tampered = _rewrite(exported, tmp_path / "tampered.zip", flip=WEIGHTS)
    dlg = ModelsDialog(user_dir=user_dir)
    qtbot.addWidget(dlg)
    assert dlg.import_from(tampered) is None
    shown = error_dialogs()
    assert len(shown) == 1 and shown[0].windowTitle() == "Model refused"
    assert f"{WEIGHTS} does not match its sha256" in shown[0].text()
    assert "refused" in dlg.status.text()
    assert dlg.table.rowCount() == 1 and [p.name for p in user_dir.iterdir()] == []


def test_raw_byte_flip_and_incomplete_archive_are_refused(qtbot, exported: Path, tmp_path: Path,
                                                          user_dir: Path, close_dialogs) -> None:
    dlg = ModelsDialog(user_dir=user_dir)
    qtbot.addWidget(dlg)
    # one byte of the archive file itself changed (inside the compressed weights)
    raw = bytearray(exported.read_bytes())
    with zipfile.ZipFile(exported) as zf:
        info = zf.getinfo(WEIGHTS)
    raw[info.header_offset + 30 + len(WEIGHTS) + 5000] ^= 0xFF
    flipped = tmp_path / "flipped.zip"
    flipped.write_bytes(bytes(raw))
    assert dlg.import_from(flipped) is None
    (shown,) = error_dialogs()
    assert "is not a readable model archive" in shown.text()
    shown.close()
    # a member missing
    incomplete = _rewrite(exported, tmp_path / "incomplete.zip", drop=WEIGHTS)
    assert dlg.import_from(incomplete) is None
    (shown,) = error_dialogs()
    assert f"{WEIGHTS} is missing (the model is incomplete)" in shown.text()
    assert dlg.table.rowCount() == 1 and [p.name for p in user_dir.iterdir()] == []
