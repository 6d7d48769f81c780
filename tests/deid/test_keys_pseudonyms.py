"""Project key storage and keyed pseudonyms."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from deid_helpers import OTHER_KEY, TEST_KEY

from medeid_gui.deid.keys import KeyFileError, ProjectKey, default_key_path
from medeid_gui.deid.pseudonyms import Pseudonymizer


def test_key_created_once_with_owner_only_permissions(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "project.key"
    k1 = ProjectKey.load_or_create(path)
    assert path.is_file()
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert k1.permissions_ok()
    k2 = ProjectKey.load_or_create(path)
    assert k1.secret == k2.secret and len(k1.secret) == 32
    assert k1.secret.hex() not in repr(k1)


def test_two_new_keys_differ(tmp_path: Path) -> None:
    assert ProjectKey.load_or_create(tmp_path / "a").secret != ProjectKey.load_or_create(tmp_path / "b").secret


def test_default_path_honours_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDEID_KEY_FILE", str(tmp_path / "k.key"))
    assert default_key_path() == tmp_path / "k.key"
    monkeypatch.delenv("MEDEID_KEY_FILE")
    assert default_key_path().name == "project.key" and "medeid" in str(default_key_path())


def test_export_import_roundtrip_and_refusals(tmp_path: Path) -> None:
    k = ProjectKey(TEST_KEY, None)
    out = k.export(tmp_path / "copy.key")
    assert ProjectKey.from_file(out).secret == TEST_KEY
    with pytest.raises(KeyFileError, match="refusing"):
        k.export(out)
    bad = tmp_path / "bad.key"
    bad.write_text("hello\n")
    with pytest.raises(KeyFileError, match="not a medeid project key"):
        ProjectKey.from_file(bad)
    with pytest.raises(KeyFileError, match="not found"):
        ProjectKey.from_file(tmp_path / "missing.key")
    short = tmp_path / "short.key"
    short.write_text("medeid-project-key-v1\nabcd\n")
    with pytest.raises(KeyFileError, match="2 bytes"):
        ProjectKey.from_file(short)


def test_pseudonyms_are_deterministic_keyed_and_valid() -> None:
    a, b, c = Pseudonymizer(TEST_KEY), Pseudonymizer(TEST_KEY), Pseudonymizer(OTHER_KEY)
    uid = "1.2.840.113619.2.55.3.604688119.971.1234567890.123"
    assert a.uid(uid) == b.uid(uid) != c.uid(uid)
    assert re.fullmatch(r"2\.25\.(0|[1-9]\d*)", a.uid(uid)) and len(a.uid(uid)) <= 64
    assert a.uid(uid) != a.uid(uid + "4")
    assert a.patient_id("12345") == b.patient_id("12345") != c.patient_id("12345")
    assert a.patient_id("12345") != a.patient_id("12346")
    assert len(a.accession("ACC1")) <= 16 and len(a.study_id("x")) <= 16
    assert a.patient_name("12345").startswith("ANON^")
    # domains are separated: the same text as PatientID and as accession gives unrelated values
    assert a.patient_id("X1")[:15] != a.accession("X1")[1:]


def test_date_offset_is_per_patient_whole_weeks_in_the_past() -> None:
    ps = Pseudonymizer(TEST_KEY)
    offsets = {ps.date_offset_days(f"PAT{i}") for i in range(200)}
    assert all(o % 7 == 0 and -3654 <= o <= -364 for o in offsets)
    assert len(offsets) > 100  # spread, not a constant
    assert ps.date_offset_days("PAT1") == Pseudonymizer(TEST_KEY).date_offset_days("PAT1")


def test_concurrent_first_use_gives_every_caller_the_same_whole_key(tmp_path) -> None:
    """Many threads creating the key at once: none reads a partial file, all get one key."""
    import threading

    from medeid_gui.deid.keys import ProjectKey

    for round_ in range(150):  # the old in-place write failed ~5 % of rounds
        path = tmp_path / f"k{round_}" / "project.key"
        results: list[object] = []
        barrier = threading.Barrier(8)

        def worker(
            barrier: threading.Barrier = barrier, path: Path = path, results: list[object] = results
        ) -> None:
            barrier.wait()
            try:
                results.append(ProjectKey.load_or_create(path).secret)
            except Exception as exc:
                results.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        errors = [r for r in results if isinstance(r, Exception)]
        assert not errors, errors
        assert len(set(results)) == 1
        assert ProjectKey.from_file(path).secret == results[0]
        assert sorted(x.name for x in path.parent.iterdir()) == ["project.key"]  # no temp left
        assert (path.stat().st_mode & 0o777) == 0o600
