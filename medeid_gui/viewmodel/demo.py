"""The demo studies: what "Open Demo Studies" and ``medeid-gui --demo`` open.

Why headless: it is a list of paths, decided without any widget; the app and tests share it.
"""

from __future__ import annotations

from pathlib import Path

#: pydicom's sample files shown beside the bundled cohort (if pydicom ships them)
SAMPLES = ("CT_small.dcm", "MR_small.dcm", "emri_small.dcm", "SC_rgb_small_odd.dcm")


def demo_paths() -> list[Path]:
    """The bundled demo cohort (``resources/demo``) plus a few of pydicom's sample files."""
    out: list[Path] = []
    try:
        from medeid_gui._resources import resource

        demo = resource("demo")
        if demo.is_dir() and any(p.is_file() and p.name != "README.md" for p in demo.rglob("*")):
            out.append(demo)
    except FileNotFoundError:
        pass
    try:
        from pydicom.data import get_testdata_file

        for name in SAMPLES:
            try:
                p = get_testdata_file(name, download=False)  # never reach the network
            except Exception:  # noqa: BLE001 - a missing optional sample is not an error
                p = None
            if p:
                out.append(Path(str(p)))
    except ImportError:  # pragma: no cover
        pass
    return out
