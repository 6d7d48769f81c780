"""packaging/prune_libs.py on real ELF files: a library only a dropped module needed goes, one a
kept module still needs stays, libraries no dropped binary needed are never touched."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("prune_libs", ROOT / "packaging" / "prune_libs.py")
assert _spec and _spec.loader
pl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pl)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("readelf") is None,
                                reason="ELF and readelf (binutils) only")


def _lib(name: str) -> str:
    """A real system library file of that soname (the test's subject is the NEEDED walk, not the file)."""
    for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"):
        p = Path(d) / name
        if p.exists():
            return str(p.resolve())
    pytest.skip(f"{name} not on this system")


def _ext(module: str) -> str:
    mod = importlib.import_module(module)
    path = getattr(mod, "__file__", None)
    if not path or not path.endswith(".so"):
        pytest.skip(f"{module} is built into this Python")
    return path


def test_needed_reads_dt_needed() -> None:
    assert "libffi.so.8" in pl.needed(_ext("_ctypes")) or "libffi.so.7" in pl.needed(_ext("_ctypes"))


def test_prune_drops_only_orphans() -> None:
    ctypes_so, lzma_so = _ext("_ctypes"), _ext("_lzma")
    ffi = next(n for n in pl.needed(ctypes_so) if n.startswith("libffi"))
    kept = [
        ("lib-dynload/_lzma.so", lzma_so, "EXTENSION"),
        ("liblzma.so.5", _lib("liblzma.so.5"), "BINARY"),
        (ffi, _lib(ffi), "BINARY"),
        ("libz.so.1", _lib("libz.so.1"), "BINARY"),  # nobody here needs it, but no dropped binary did either
    ]
    dropped = [("lib-dynload/_ctypes.so", ctypes_so, "EXTENSION")]
    left, removed = pl.prune(kept, dropped)
    assert removed == [ffi]
    assert [e[0] for e in left] == ["lib-dynload/_lzma.so", "liblzma.so.5", "libz.so.1"]
    # a library a kept binary still needs stays even when a dropped one needed it too
    left2, removed2 = pl.prune(kept, [("x/_lzma_copy.so", lzma_so, "EXTENSION")])
    assert removed2 == [] and left2 == kept
