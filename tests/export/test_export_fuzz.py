"""Fuzz: mutated DICOM bytes into the reader and the exporter — no crash, every input accounted for."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helpers import data_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medeid_gui.dicom.read import DicomReadError, read_dataset
from medeid_gui.export.pipeline import ExportConfig, run_export
from medeid_gui.export.rundb import read_manifest_csv

SEEDS = [data_file(n).read_bytes() for n in ("CT_small.dcm", "rtplan.dcm", "ExplVR_LitEndNoMeta.dcm")]

mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 20), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("cut"), st.integers(0, 1 << 20), st.just(b"")),
    st.tuples(st.just("insert"), st.integers(0, 1 << 20), st.binary(min_size=1, max_size=16)),
)


def _mutate(seed: bytes, muts: list[tuple[str, int, bytes]]) -> bytes:
    b = bytearray(seed)
    for kind, pos, data in muts:
        # most interesting bytes are in the header: aim there three times out of four
        limit = min(len(b), 1200) if pos % 4 else len(b)
        i = pos % max(limit, 1)
        if kind == "flip":
            b[i : i + len(data)] = data
        elif kind == "cut":
            del b[i:]
        else:
            b[i:i] = data
    return bytes(b)


_DEADLINE = {"t": 0.0}


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(files=st.lists(st.tuples(st.integers(0, len(SEEDS) - 1), st.lists(mutation, min_size=1, max_size=4)),
                      min_size=2, max_size=4))
def test_mutated_files_never_crash_and_are_all_accounted_for(tmp_path_factory: pytest.TempPathFactory, files) -> None:
    if _DEADLINE["t"] and time.monotonic() > _DEADLINE["t"]:
        return  # time budget spent; hypothesis has already covered the earlier examples
    _DEADLINE["t"] = _DEADLINE["t"] or time.monotonic() + 25
    root = tmp_path_factory.mktemp("fuzz")
    inp = root / "in"
    inp.mkdir()
    for i, (s, muts) in enumerate(files):
        (inp / f"f{i}.dcm").write_bytes(_mutate(SEEDS[s], muts))
        # the reader: either a dataset or DicomReadError with a reason, nothing else
        try:
            read_dataset(inp / f"f{i}.dcm")
        except DicomReadError as exc:
            assert exc.reason
    cfg = ExportConfig(input=inp, output=root / "out", key_file=root / "k", ledger=root / "l.sqlite",
                       state_dir=root / "state", workers=1, burned_in="off")
    s = run_export(cfg)
    rows = read_manifest_csv(s.manifest_path)
    assert sorted(Path(r["input_path"]).name for r in rows) == sorted(f"f{i}.dcm" for i in range(len(files)))
    for r in rows:
        assert r["status"] in ("exported", "skipped", "failed")
        assert "Traceback" not in r["reason"]
        if r["status"] != "exported":
            assert r["reason"]
