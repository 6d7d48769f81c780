"""Build medeid's own copy of DICOM PS3.15 Table E.1-1 from the shared extraction.

Why a build step: the application must not read ``../shared`` at run time, and a privacy officer
must be able to see which revision of the standard the engine follows. This script turns the
innolitics extraction (a flat list of records) into ``resources/profiles/ps3.15-2024b-e1-1.json``:
one record per attribute with the DICOM keyword (from pydicom's dictionary, for reading), the
Basic Profile action and the per-option actions, plus the three pattern rows (curves ``50xx``,
overlays ``60xx``, odd groups) kept apart so the engine can compile them separately.

Run:  python tools/build_profile.py [SOURCE_JSON] [OUT_JSON]
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "dicom" / "confidentiality_profile_attributes.json"
DEFAULT_OUT = ROOT / "resources" / "profiles" / "ps3.15-2024b-e1-1.json"

OPTION_COLUMNS = (
    "rtnSafePrivOpt",
    "rtnUIDsOpt",
    "rtnDevIdOpt",
    "rtnInstIdOpt",
    "rtnPatCharsOpt",
    "rtnLongFullDatesOpt",
    "rtnLongModifDatesOpt",
    "cleanDescOpt",
    "cleanStructContOpt",
    "cleanGraphOpt",
)
ACTIONS = {"D", "Z", "X", "K", "C", "U", "X/Z", "X/D", "X/Z/D", "Z/D", "X/Z/U*"}


def _keyword(tag_hex: str) -> str:
    from pydicom.datadict import keyword_for_tag

    try:
        return keyword_for_tag(int(tag_hex, 16)) or ""
    except Exception:  # noqa: BLE001 - unknown to pydicom's dictionary: leave blank
        return ""


def build(source: Path) -> dict:
    raw = source.read_bytes()
    records = json.loads(raw)
    attributes: list[dict] = []
    patterns: list[dict] = []
    for rec in records:
        basic = rec["basicProfile"]
        if basic not in ACTIONS:
            raise ValueError(f"{rec['tag']}: unknown action {basic!r}")
        opts = {col: rec[col] for col in OPTION_COLUMNS if col in rec}
        for col, act in opts.items():
            if act not in ACTIONS:
                raise ValueError(f"{rec['tag']} {col}: unknown action {act!r}")
        tag = rec["tag"]
        entry = {
            "tag": tag,
            "name": rec["name"],
            "std_comp_iod": rec.get("stdCompIOD") == "Y",
            "basic": basic,
            "options": opts,
        }
        ident = rec["id"].lower()
        if len(ident) == 8 and all(c in "0123456789abcdef" for c in ident):
            entry["id"] = ident
            entry["keyword"] = _keyword(ident)
            attributes.append(entry)
        else:
            # '(50XX,XXXX)', '(60XX,3000)', '(60XX,4000)', '(GGGG,EEEE) WHERE GGGG IS ODD'
            if "ODD" in tag.upper():
                entry["pattern"] = "odd-group"
            else:
                entry["pattern"] = ident  # e.g. 50xxxxxx, 60xx3000
            patterns.append(entry)
    attributes.sort(key=lambda e: e["id"])
    return {
        "standard": "DICOM PS3.15",
        "revision": "2024b",
        "table": "E.1-1 Application Level Confidentiality Profile Attributes",
        "source": {
            "project": "innolitics/dicom-standard (MIT)",
            "file": "standard/confidentiality_profile_attributes.json",
            "commit": "7f4749d",
            "date": "2025-01-28",
            "sha256": hashlib.sha256(raw).hexdigest(),
            "records": len(records),
        },
        "built_by": "tools/build_profile.py",
        "option_columns": list(OPTION_COLUMNS),
        "attributes": attributes,
        "patterns": patterns,
    }


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    out = Path(argv[2]) if len(argv) > 2 else DEFAULT_OUT
    if not source.is_file():
        print(f"build_profile: source not found: {source}", file=sys.stderr)
        return 1
    data = build(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(data['attributes'])} attributes, {len(data['patterns'])} patterns)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
