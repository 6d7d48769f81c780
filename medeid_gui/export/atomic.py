"""Write a file so that it either exists complete or not at all.

Why: a batch export may be killed at any moment (SIGKILL, power loss). Every output goes to a
temporary name in the target folder, is flushed and fsynced, then renamed over the final name
(atomic on POSIX and on the same Windows volume). A rerun removes leftover temporaries
(``cleanup_temporaries``) so the finished folder is byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

#: temporary files carry this marker; nothing else in an output folder may.
TMP_MARK = ".medeid-tmp-"


class OutputWriteError(OSError):
    """Writing an output failed; ``reason`` says why in words (disk full, permission …)."""

    def __init__(self, path: Path, exc: OSError) -> None:
        self.path = path
        self.reason = describe_os_error(exc)
        super().__init__(exc.errno, f"{path}: {self.reason}")


def describe_os_error(exc: OSError) -> str:
    """A sentence for the manifest instead of a traceback."""
    known = {
        errno.ENOSPC: "disk full (no space left on device)",
        errno.EDQUOT: "disk quota exceeded",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.EROFS: "read-only file system",
        errno.ENAMETOOLONG: "file name too long",
        errno.EIO: "input/output error",
    }
    base = known.get(exc.errno or -1, exc.strerror or exc.__class__.__name__)
    return base


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename; raise ``OutputWriteError``."""
    path = Path(path)
    tmp = path.with_name(f"{TMP_MARK}{os.getpid()}-{path.name}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise OutputWriteError(path, exc) from exc


def cleanup_temporaries(root: Path) -> int:
    """Remove temporaries a killed run left under ``root``; return how many."""
    n = 0
    if not Path(root).is_dir():
        return 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.startswith(TMP_MARK):
                try:
                    os.unlink(os.path.join(dirpath, name))
                    n += 1
                except OSError:
                    pass
    return n


def remove_empty_dirs(root: Path) -> None:
    """Remove empty folders below ``root`` (left when a run was killed before any file landed)."""
    root = Path(root)
    if not root.is_dir():
        return
    for dirpath, _dirs, _files in sorted(os.walk(root), key=lambda t: -len(t[0])):
        if Path(dirpath) != root:
            try:
                os.rmdir(dirpath)
            except OSError:
                pass
