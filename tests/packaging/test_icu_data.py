"""packaging/icu_data.py on the ICU data library PySide6 ships: the archive survives a read and
write unchanged, and Qt run on the shrunk library (preloaded in a fresh process) collates, maps
case and names time zones exactly as with the full one, while the codepage tables are gone."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("icu_data", ROOT / "packaging" / "icu_data.py")
assert _spec and _spec.loader
icu = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(icu)

#: the four kinds of ICU call libQt6Core makes, each through Qt's own API
PROBE = r"""
import json
from PySide6.QtCore import QCollator, QLocale, QStringConverter, QStringDecoder, QTimeZone
words = ["Zebra", "Äpfel", "apfel", "Müller", "Mueller", "Ölfass", "ozean"]
print(json.dumps({
    "de": sorted(words, key=QCollator(QLocale("de_DE")).sortKey),
    "sv": sorted(["z", "ö", "o", "å", "a"], key=QCollator(QLocale("sv_SE")).sortKey),
    "ja": sorted(["か", "あ", "カ", "ア"], key=QCollator(QLocale("ja_JP")).sortKey),
    "tr": QLocale("tr_TR").toUpper("istanbul"), "de_upper": QLocale("de_DE").toUpper("straße"),
    "tz": QTimeZone(b"Europe/Berlin").displayName(QTimeZone.StandardTime, QTimeZone.LongName, QLocale("en_US")),
    "utf16": QStringDecoder(QStringConverter.Utf16).isValid(),
    "shift_jis": QStringDecoder("Shift_JIS").isValid(),
}, ensure_ascii=False))
"""


def _icudata() -> Path:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("PySide6 not installed")
    libs = sorted((Path(next(iter(spec.submodule_search_locations))) / "Qt" / "lib").glob("libicudata.so.*"))
    if not sys.platform.startswith("linux") or not libs:
        pytest.skip("this PySide6 brings no ICU data library (Linux wheels do)")
    return libs[0]


def test_rules() -> None:
    for kept in ("icudt73l/uprops.icu", "icudt73l/cnvalias.icu", "icudt73l/coll/de.res", "icudt73l/coll/ucadata.icu",
                 "icudt73l/de.res", "icudt73l/zoneinfo64.res", "icudt73l/zone/en_GB.res", "icudt73l/zone/root.res"):
        assert icu.wanted(kept), kept
    for dropped in ("icudt73l/brkitr/cjdict.dict", "icudt73l/translit/root.res", "icudt73l/curr/de.res",
                    "icudt73l/lang/fr.res", "icudt73l/zone/de.res", "icudt73l/ibm-943_P15A-2003.cnv"):
        assert not icu.wanted(dropped), dropped


def test_archive_round_trip() -> None:
    symbol, dat = icu.data_symbol(_icudata())
    assert symbol.startswith("icudt") and len(dat) > 1_000_000
    header, items = icu.read_common(dat)
    again = icu.write_common(header, items)
    assert len(again) == len(dat) and icu.read_common(again) == (header, items)


def _probe(preload: Path | None) -> dict[str, object]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    if preload is not None:
        env["LD_PRELOAD"] = str(preload)
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env,
                         check=False, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="needs a C compiler")
def test_qt_on_the_shrunk_library_behaves_as_on_the_full_one(tmp_path: Path) -> None:
    lib = _icudata()
    out = tmp_path / lib.name
    kept, dropped, saved = icu.shrink(lib, out)
    assert kept > 500 and dropped > 1000 and saved > 15_000_000
    full, small = _probe(None), _probe(out)
    assert full["de"][:2] == ["apfel", "Äpfel"] and full["tr"] == "İSTANBUL"  # the probe means something
    assert full["tz"] == "Central European Standard Time"
    for key in ("de", "sv", "ja", "tr", "de_upper", "tz", "utf16"):
        assert small[key] == full[key], key
    assert full["shift_jis"] is True and small["shift_jis"] is False  # the documented trade-off
