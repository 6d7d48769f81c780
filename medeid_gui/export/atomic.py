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


#: folders this process already created (saves a syscall per file)
_MADE: set[str] = set()


def write_bytes_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename; raise ``OutputWriteError``.

    ``durable=False`` skips the per-file fsync: the batch pipeline instead flushes everything
    written so far to disk (``os.sync``) right before it commits manifest rows, so a row never
    claims a file that a power loss could still take away, at a fraction of the cost.
    """
    path = Path(path)
    tmp = path.with_name(f"{TMP_MARK}{os.getpid()}-{path.name}")
    try:
        parent = str(path.parent)
        if parent not in _MADE:
            path.parent.mkdir(parents=True, exist_ok=True)
            if len(_MADE) > 10000:
                _MADE.clear()
            _MADE.add(parent)
        try:
            fh = open(tmp, "wb")
        except FileNotFoundError:  # the folder was removed since this process made it
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(tmp, "wb")
        with fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _MADE.discard(str(path.parent))
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


def sync_all() -> None:
    """Flush written files to disk before the run database says they exist (POSIX ``sync``)."""
    sync = getattr(os, "sync", None)
    if sync is not None:
        sync()
