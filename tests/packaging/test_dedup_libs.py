"""packaging/dedup_libs.py on the real libraries the wheels vendor: OpenCV's OpenBLAS still loads
(all its symbols bound, in a process where numpy's copies were never loaded) after its Fortran
runtime became a link to numpy's, and a library no binary needs any more is gone."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("dedup_libs", ROOT / "packaging" / "dedup_libs.py")
assert _spec and _spec.loader
dl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dl)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("nm") is None,
                                reason="ELF and binutils only")


def test_family_and_release_read_auditwheel_names() -> None:
    assert dl.family("libgfortran-040039e1-0352e75f.so.5.0.0") == "libgfortran.so.5"
    assert dl.family("libgfortran-c796d592.so.5.0.0") == "libgfortran.so.5"
    assert dl.family("libscipy_openblas64_-32a4b2a6.so") == "libscipy_openblas64_.so"
    assert dl.family("libpng16-802956e1.so.16.59.0") != dl.family("libpng-802956e1.so.16.59.0")
    assert dl.release("libpng16-1d1ba958.so.16.58.0") < dl.release("libpng16-802956e1.so.16.59.0")


def _vendored(package: str, folder: str) -> Path:
    """``folder`` (auditwheel's ``<dist>.libs``) beside the installed ``package``."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{package} not installed")
    libs = Path(next(iter(spec.submodule_search_locations))).parent / folder
    if not libs.is_dir():
        pytest.skip(f"{folder} not here (another build of {package})")
    return libs


def test_dedup_links_fortran_runtime_and_keeps_openblas_loadable(tmp_path: Path) -> None:
    numpy_libs = _vendored("numpy", "numpy.libs")
    cv_libs = _vendored("cv2", "opencv_python_headless.libs")
    for src in (numpy_libs, cv_libs):
        shutil.copytree(src, tmp_path / src.name, symlinks=True)
    # the binaries that need them, as in the bundle (without them every vendored library is an orphan)
    site = cv_libs.parent
    users = [next((site / "cv2").glob("cv2*.so")), next((site / "numpy" / "_core").glob("_multiarray_umath*.so"))]
    for user in users:
        dest = tmp_path / user.relative_to(cv_libs.parent)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(user, dest)
    fortran = [p for p in tmp_path.glob("*.libs/libgfortran*") if p.is_file()]
    if len(fortran) < 2:
        pytest.skip("only one Fortran runtime vendored here")
    before = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink())
    done, saved = dl.dedup(tmp_path)
    after = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink())
    assert saved == before - after > 0, done
    links = [p for p in tmp_path.rglob("*") if p.is_symlink()]
    assert links and all(p.resolve().is_file() for p in links)  # no dangling link
    assert any(p.name.startswith("libgfortran") for p in links)
    # every library still there loads with all symbols bound (RTLD_NOW), in a fresh process
    for lib in sorted(p for p in tmp_path.glob("*.libs/*") if p.is_file() and not p.is_symlink()):
        code = f"import ctypes, os; ctypes.CDLL({str(lib)!r}, mode=os.RTLD_NOW)"
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        assert run.returncode == 0, (lib.name, run.stderr[-500:])
    # and so do OpenCV's and numpy's own binaries, each alone (the loader finds each dependency
    # through $ORIGIN of the name it opened, so the links must sit where the users look)
    for user in users:
        copied = tmp_path / user.relative_to(cv_libs.parent)
        code = f"import ctypes, os; ctypes.CDLL({str(copied)!r}, mode=os.RTLD_NOW)"
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        assert run.returncode == 0, (copied.name, run.stderr[-500:])
