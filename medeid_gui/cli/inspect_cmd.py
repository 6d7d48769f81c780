"""``medeid inspect FILE``: the fate of every element of one file, unchanged input.

Why: a privacy officer must be able to check, attribute by attribute, what an export would do
and why (table row, option, Type in the IOD, the UID rule) before anything is written. Every
element is listed, also those kept because Table E.1-1 does not name them ("kept: not in Table
E.1-1"), so nothing leaves unseen; ``--json`` carries the same rows. ``--explain-uids`` prints
the UID rule and its exceptions (deid/uid_rule.py, the one place that states them).
"""

from __future__ import annotations

import argparse

HELP = "list the fate of every element of one DICOM file (nothing is written)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="a DICOM file")
    parser.add_argument("--profile", default="basic",
                        help="preset: basic, research, research-clean (default basic)")
    parser.add_argument("--option", action="append", default=[], metavar="NAME",
                        help="add a PS3.15 option, e.g. retain-uids (repeatable)")
    parser.add_argument("--key-file", help="project key file (default: the user's key)")
    parser.add_argument("--safe-private", help="allowlist file for retain-safe-private")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--explain-uids", action="store_true",
                        help="print the UID rule and its exceptions (then the file's rows, if given)")


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [len(h) for h in header]
    caps = [48, 13, 6, 28, 28, 200]
    for r in rows:
        for i, c in enumerate(r):
            widths[i] = min(max(widths[i], len(c)), caps[i])

    def fmt(r: list[str]) -> str:
        cells = []
        for i, c in enumerate(r):
            c = c if len(c) <= widths[i] else c[: widths[i] - 1] + "…"
            cells.append(c.ljust(widths[i]) if i < len(r) - 1 else c)
        return "  ".join(cells)

    lines = [fmt(header), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in rows]
    return "\n".join(lines)


def _explain_uids() -> str:
    from medeid_gui.deid.uid_rule import explain

    return "UID rule:\n" + "\n".join("  " + line for line in explain())


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    if args.explain_uids:
        print(_explain_uids())
        if not args.file:
            return 0
        print()
    if not args.file:
        print("medeid inspect: a DICOM file is required (or --explain-uids)", file=sys.stderr)
        return 2

    import pydicom
    from pydicom.errors import InvalidDicomError

    from medeid_gui.deid.engine import DeidConfig, Deidentifier
    from medeid_gui.deid.keys import KeyFileError, ProjectKey
    from medeid_gui.deid.options import parse

    try:
        options = parse(args.profile, args.option)
    except ValueError as exc:
        print(f"medeid inspect: {exc}", file=sys.stderr)
        return 2
    try:
        key = ProjectKey.load_or_create(args.key_file)
    except KeyFileError as exc:
        print(f"medeid inspect: {exc}", file=sys.stderr)
        return 2
    try:
        ds = pydicom.dcmread(args.file, force=False)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        print(f"medeid inspect: cannot read {args.file}: {exc}", file=sys.stderr)
        return 1
    deid = Deidentifier(DeidConfig(options=options, profile="basic",
                                   safe_private_path=args.safe_private), key)
    try:
        actions = deid.describe(ds, list_kept=True)
    except Exception as exc:  # noqa: BLE001 - report, never a traceback for a bad file
        print(f"medeid inspect: cannot process {args.file}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([a.as_dict() for a in actions], indent=1, ensure_ascii=False))
        return 0
    rows = [[a.path, a.tag, a.action, a.old, a.new, a.reason] for a in actions]
    print(_table(rows, ["ATTRIBUTE", "TAG", "ACTION", "OLD", "NEW", "REASON"]))
    changed = sum(1 for a in actions if a.action != "K")
    print(f"\n{len(actions)} elements, {changed} changed, removed or set; options: "
          f"{', '.join(sorted(o.cli_name for o in options)) or 'none (Basic Profile)'}")
    return 0
