"""Keyed, repeatable pseudonyms: HMAC-SHA256(project key, domain || original value).

Why HMAC and not a plain hash: peers derive UIDs from unsalted MD5 or random numbers — the first
can be reversed by anyone who guesses the original (PatientIDs are short), the second breaks
repeatability across batches. With a keyed MAC the same original gives the same pseudonym on
every run and machine that holds the key, and nobody without the key can link them.

Every value kind has its own domain string, so a PatientID and a UID that happen to be the same
text still map to unrelated outputs. Results are cached per instance (a study shares most UIDs).
"""

from __future__ import annotations

import hashlib
import hmac

from medeid_gui.deid.keys import ProjectKey

#: date offsets are whole weeks (weekday preserved, useful for scheduling research) between one
#: and ten years into the past — far enough that the shifted date cannot be mistaken for the real one
_MIN_WEEKS = 52
_SPAN_WEEKS = 470


def _norm(value: object) -> str:
    return str(value).strip(" \0")


class Pseudonymizer:
    """Deterministic pseudonyms for one project key."""

    def __init__(self, key: ProjectKey | bytes) -> None:
        secret = key.secret if isinstance(key, ProjectKey) else bytes(key)
        if len(secret) < 16:
            raise ValueError("a pseudonymization key needs at least 16 bytes")
        self._secret = secret
        self._cache: dict[tuple[str, str], str] = {}
        self._offsets: dict[str, int] = {}

    def digest(self, domain: str, value: str) -> bytes:
        return hmac.new(
            self._secret, domain.encode("ascii") + b"\0" + value.encode("utf-8", "surrogateescape"),
            hashlib.sha256,
        ).digest()

    def _hex(self, domain: str, value: object, n: int) -> str:
        v = _norm(value)
        ck = (domain, v)
        hit = self._cache.get(ck)
        if hit is None:
            hit = self.digest(domain, v).hex().upper()
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache[ck] = hit
        return hit[:n]

    def uid(self, orig: object) -> str:
        """``2.25.<128-bit integer>`` (at most 44 characters, a valid UID for any input)."""
        v = _norm(orig)
        ck = ("uid", v)
        hit = self._cache.get(ck)
        if hit is None:
            n = int.from_bytes(self.digest("uid", v)[:16], "big")
            hit = f"2.25.{n}"
            self._cache[ck] = hit
        return hit

    def patient_id(self, orig: object) -> str:
        """16 upper-case hex digits (64 bits): distinct patients stay distinct."""
        return self._hex("patient-id", orig, 16)

    def patient_name(self, patient_key: object) -> str:
        """``ANON^<10 hex>``: a valid PN that keeps patients apart in viewers."""
        return "ANON^" + self._hex("patient-name", patient_key, 10)

    def accession(self, orig: object) -> str:
        """``A`` + 15 hex digits (fits SH, 16 characters)."""
        return "A" + self._hex("accession", orig, 15)

    def study_id(self, orig: object) -> str:
        """``S`` + 11 hex digits (fits SH)."""
        return "S" + self._hex("study-id", orig, 11)

    def token(self, domain: str, orig: object, length: int) -> str:
        """Generic identifier pseudonym of at most ``length`` characters (at least 4)."""
        return "X" + self._hex("id:" + domain, orig, max(3, min(length, 64) - 1))

    def date_offset_days(self, patient_key: object) -> int:
        """Negative whole-week offset in [-3654, -364] days, the same for every date of a patient."""
        v = _norm(patient_key)
        hit = self._offsets.get(v)
        if hit is None:
            n = int.from_bytes(self.digest("date-offset", v)[:8], "big")
            hit = -7 * (_MIN_WEEKS + n % _SPAN_WEEKS)
            self._offsets[v] = hit
        return hit
