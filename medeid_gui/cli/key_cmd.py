"""``medeid key``: where the project key lives, and moving it between machines.

Why a command: the same key must be used on every machine that exports data of one project
(pseudonyms are a function of the key); without it nobody can recompute or link them.
"""

from __future__ import annotations

import argparse

HELP = "show, export or import the secret project key behind the pseudonyms"
DESCRIPTION = (
    "The project key (32 random bytes, owner-only file) makes pseudonyms repeatable across runs "
    "and machines. Keep exported copies as secret as the data: whoever holds the key can "
    "recompute every pseudonym from an original value."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key-file", help="use this key file instead of the default location")
    sub = parser.add_subparsers(dest="key_action", metavar="ACTION")
    sub.add_parser("show-path", help="print the key file's path and fingerprint (creates the key if absent)")
    exp = sub.add_parser("export", help="write a copy of the key to DEST (owner-only permissions)")
    exp.add_argument("dest")
    exp.add_argument("--force", action="store_true", help="overwrite DEST if it exists")
    imp = sub.add_parser("import", help="install the key file SRC as this machine's key")
    imp.add_argument("src")
    imp.add_argument("--force", action="store_true", help="replace an existing, different key")


def run(args: argparse.Namespace) -> int:
    import sys

    from medeid_gui.deid.keys import KeyFileError, ProjectKey, default_key_path

    target = args.key_file or default_key_path()
    action = getattr(args, "key_action", None)
    try:
        if action in (None, "show-path"):
            key = ProjectKey.load_or_create(target)
            print(key.path)
            print(f"fingerprint {key.fingerprint}")
            if not key.permissions_ok():
                print("warning: the key file is readable by other users; run chmod 600 on it",
                      file=sys.stderr)
            return 0
        if action == "export":
            key = ProjectKey.load_or_create(target)
            out = key.export(args.dest, overwrite=args.force)
            print(f"exported key {key.fingerprint} to {out}")
            return 0
        if action == "import":
            new = ProjectKey.from_file(args.src)
            from pathlib import Path

            dest = Path(target)
            if dest.exists():
                old = ProjectKey.from_file(dest)
                if old.secret == new.secret:
                    print(f"{dest} already holds key {new.fingerprint}")
                    return 0
                if not args.force:
                    print(
                        f"medeid key: {dest} holds another key ({old.fingerprint}); pseudonyms made "
                        "with it could no longer be reproduced. Export it first, then use --force.",
                        file=sys.stderr,
                    )
                    return 1
            new.export(dest, overwrite=True)
            print(f"imported key {new.fingerprint} into {dest}")
            return 0
    except KeyFileError as exc:
        print(f"medeid key: {exc}", file=sys.stderr)
        return 1
    print(f"medeid key: unknown action {action!r}", file=sys.stderr)
    return 2
