"""The shipped profile resource is what tools/build_profile.py makes from the shared table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from deid_helpers import PROFILE, ROOT

from medeid_gui.deid.profile import load_profile

SOURCE = ROOT.parent / "shared" / "dicom" / "confidentiality_profile_attributes.json"


def test_resource_records_revision_and_all_rows() -> None:
    data = json.loads(PROFILE.read_text())
    assert data["revision"] == "2024b" and data["source"]["records"] == 621
    assert len(data["attributes"]) + len(data["patterns"]) == 621
    assert {p["pattern"] for p in data["patterns"]} == {"50xxxxxx", "60xx3000", "60xx4000", "odd-group"}
    table = load_profile()
    assert table.revision == "2024b"


@pytest.mark.skipif(not SOURCE.is_file(), reason="shared reference table not present")
def test_builder_reproduces_the_committed_resource(tmp_path: Path) -> None:
    out = tmp_path / "profile.json"
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_profile.py"), str(SOURCE), str(out)],
                   check=True, capture_output=True)
    assert json.loads(out.read_text()) == json.loads(PROFILE.read_text())
