"""Shared fixtures for the pixel tests: one OCR engine (results cached by image content for the
whole session, since OCR costs seconds per frame on 2 cores) and one inference engine with the
method's real networks (untrained, seeded: the pixel plumbing does not depend on what they learned)."""

from __future__ import annotations

import pytest

from medeid_gui.pixels.ocr import OcrEngine, default_ocr


@pytest.fixture(scope="session")
def ocr() -> OcrEngine:
    return default_ocr()


@pytest.fixture(scope="session")
def engine():
    torch = pytest.importorskip("torch")
    from medeid_gui.ml.engine import InferenceEngine
    from medeid_gui.ml.model import new_model

    torch.manual_seed(0)
    eng = InferenceEngine(model=new_model().eval())
    yield eng
    eng.close()
