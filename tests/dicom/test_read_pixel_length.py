"""The raw-element pixel length check agrees with pydicom's ``get_expected_length``."""

from __future__ import annotations

import warnings

import corpora
import pydicom
from pydicom.pixels.utils import get_expected_length

from medeid_gui.dicom.read import _native_length_fast


def test_fast_expected_length_matches_pydicom_on_every_corpus_file() -> None:
    checked = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in corpora.all_corpus_files():
            try:
                ds = pydicom.dcmread(path, force=True)
            except Exception:
                continue
            tsyntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
            if tsyntax is not None and tsyntax.is_compressed:
                continue
            fast = _native_length_fast(ds)
            if fast is None:
                continue
            held, expected = fast
            assert held == len(ds.PixelData), path
            assert expected == int(get_expected_length(ds)), path
            checked += 1
    assert checked >= 80
