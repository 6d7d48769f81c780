"""The secret project key behind every pseudonym.

Why a key at all: pseudonyms (UIDs, PatientID, date offsets) must be the same across runs,
batches and machines, yet nobody without the key may recompute them from a guessed original
(unsalted hashes of a PatientID are trivially reversed by enumeration). One 32-byte random key per
project, stored with owner-only permissions, exported and imported as a small text file.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

KEY_BYTES = 32
_HEADER = "medeid-project-key-v1"
#: environment override of the default key location (sites, tests)
ENV_KEY_FILE = "MEDEID_KEY_FILE"


class KeyFileError(ValueError):
    """A key file that is missing, unreadable or malformed."""


def default_key_path() -> Path:
    """``$MEDEID_KEY_FILE`` or ``<platformdirs user data dir>/medeid/project.key``."""
    override = os.environ.get(ENV_KEY_FILE)
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("medeid", appauthor=False)) / "project.key"


def _write_private(path: Path, text: str, *, overwrite: bool) -> None:
    """Write a key file so that no reader ever sees it half-written.

    Why: two exports (or a GUI and a CLI) starting at once on a fresh machine both create the
    key; with an in-place write the second could read an empty or partial file. The text goes to
    an owner-only temporary file first, is fsynced, and then appears whole: ``os.link`` (which
    fails if the name exists, so the first creator wins) or ``os.replace`` when overwriting.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".medeid-key-", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        try:
            os.fchmod(fd, 0o600)  # mkstemp already creates 0600; be explicit where umask differs
        except (AttributeError, OSError):
            pass
        os.write(fd, text.encode("ascii"))
        os.fsync(fd)
        os.close(fd)
        fd = -1
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # atomic and exclusive: FileExistsError if another won
            except (AttributeError, PermissionError, NotImplementedError):
                # filesystems without hard links: exclusive create, then the content
                excl = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    os.write(excl, text.encode("ascii"))
                    os.fsync(excl)
                finally:
                    os.close(excl)
    finally:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
    try:
        os.chmod(path, 0o600)
    except OSError:
        pass


@dataclass(frozen=True)
class ProjectKey:
    """32 secret bytes and where they came from (``path`` may be None for in-memory keys)."""

    secret: bytes
    path: Path | None = None

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise KeyFileError(f"a project key has {KEY_BYTES} bytes, not {len(self.secret)}")

    def __repr__(self) -> str:  # never print the secret
        return f"ProjectKey(fingerprint={self.fingerprint!r}, path={str(self.path)!r})"

    @property
    def fingerprint(self) -> str:
        """Short public identifier of the key (cannot be used to recompute pseudonyms)."""
        return hashlib.sha256(b"medeid-key-fingerprint\0" + self.secret).hexdigest()[:16]

    @classmethod
    def generate(cls) -> ProjectKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> ProjectKey:
        p = Path(path)
        try:
            text = p.read_text(encoding="ascii")
        except FileNotFoundError:
            raise KeyFileError(f"key file not found: {p}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyFileError(f"cannot read key file {p}: {exc}") from None
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        if len(lines) != 2 or lines[0] != _HEADER:
            raise KeyFileError(f"{p} is not a medeid project key file (expected '{_HEADER}' + hex)")
        try:
            secret = bytes.fromhex(lines[1])
        except ValueError:
            raise KeyFileError(f"{p}: the key line is not hexadecimal") from None
        if len(secret) != KEY_BYTES:
            raise KeyFileError(f"{p}: key has {len(secret)} bytes, expected {KEY_BYTES}")
        return cls(secret, p)

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str] | None = None) -> ProjectKey:
        """Load the key at ``path`` (default: :func:`default_key_path`), creating it if absent."""
        p = Path(path) if path is not None else default_key_path()
        if p.exists():
            return cls.from_file(p)
        key = cls.generate()
        try:
            _write_private(p, key._text(), overwrite=False)
        except FileExistsError:  # another process created it first: use theirs
            return cls.from_file(p)
        return cls(key.secret, p)

    def _text(self) -> str:
        return (
            f"{_HEADER}\n# secret: anyone with this file can recompute the pseudonyms\n"
            f"{self.secret.hex()}\n"
        )

    def export(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the key to ``path`` (owner-only permissions); refuses to overwrite by default."""
        p = Path(path)
        try:
            _write_private(p, self._text(), overwrite=overwrite)
        except FileExistsError:
            raise KeyFileError(f"{p} exists; refusing to overwrite a key file") from None
        return p

    def permissions_ok(self) -> bool:
        """True when the key file is not readable by group/others (POSIX only)."""
        if self.path is None or os.name != "posix":
            return True
        mode = self.path.stat().st_mode
        return not (mode & (stat.S_IRWXG | stat.S_IRWXO))
