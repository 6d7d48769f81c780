"""``medeid ledger lookup PSEUDO-ID``: answer a re-identification request (needs the project key)."""

from __future__ import annotations

import argparse
import sys

HELP = "look up the original behind a pseudonymous PatientID or UID (needs the project key)"
DESCRIPTION = (
    "The linkage ledger maps originals to pseudonyms for every export, stored apart from the "
    "output with owner-only permissions. 'lookup' answers only with the project key that made "
    "the pseudonym, and verifies the answer by recomputing the pseudonym from the original."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="ledger_command", metavar="ACTION", required=True)
    lk = sub.add_parser("lookup", help="original value(s) behind a pseudonym")
    lk.add_argument("pseudonym", metavar="PSEUDO-ID")
    lk.add_argument("--key-file", metavar="F", help="project key (default: user data dir)")
    lk.add_argument("--ledger", metavar="PATH", help="ledger file (default: user data dir)")
    info = sub.add_parser("info", help="where the ledger is and how many links it holds")
    info.add_argument("--ledger", metavar="PATH")


def _recompute(pz: object, kind: str, original: str) -> str | None:
    fn = {
        "PatientID": "patient_id",
        "AccessionNumber": "accession",
    }.get(kind, "uid" if kind.endswith("UID") else None)
    if fn is None or not hasattr(pz, fn):
        return None
    return str(getattr(pz, fn)(original))


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from medeid_gui.export.ledger import Ledger, default_ledger_path

    path = Path(args.ledger) if args.ledger else default_ledger_path()
    if not path.exists():
        print(f"medeid ledger: no ledger at {path}", file=sys.stderr)
        return 2
    led = Ledger(path)
    try:
        if args.ledger_command == "info":
            print(f"ledger: {path} ({led.count()} links)")
            return 0
        from medeid_gui.deid.keys import KeyFileError, ProjectKey
        from medeid_gui.deid.pseudonyms import Pseudonymizer

        try:
            key = ProjectKey.from_file(args.key_file) if args.key_file else ProjectKey.load_or_create(None)
        except KeyFileError as exc:
            print(f"medeid ledger: {exc}", file=sys.stderr)
            return 2
        entries = led.lookup(args.pseudonym.strip())
        if not entries:
            print(f"no ledger entry for {args.pseudonym}")
            return 1
        mine = [e for e in entries if e.key_id == key.fingerprint]
        if not mine:
            print("this pseudonym was made with a different project key; the key that made it is needed")
            return 1
        pz = Pseudonymizer(key)
        for e in mine:
            again = _recompute(pz, e.kind, e.original)
            check = "verified with the key" if again == e.pseudonym else (
                "recorded (not recomputable)" if again is None else "MISMATCH: ledger row does not match the key")
            print(f"{e.kind}: {e.original}  ({check})")
        return 0
    finally:
        led.close()
