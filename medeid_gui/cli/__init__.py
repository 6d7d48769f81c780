"""The ``medeid`` command line. Never imports ``ui/``.

Each sub-command lives in its own module here (``medeid_gui/cli/<name>.py``) exposing
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``. Modules import their
heavy dependencies inside ``run`` so that ``medeid --help`` and header-only exports stay fast
and never load torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from medeid_gui import buildinfo

#: sub-command name -> module under medeid_gui.cli
COMMANDS: dict[str, str] = {
    "inspect": "inspect_cmd",
    "export": "export_cmd",
    "audit": "audit_cmd",
    "ledger": "ledger_cmd",
    "key": "key_cmd",
    "demo": "demo_cmd",
    "ml": "ml_cmd",
    "import-images": "import_images_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medeid",
        description="De-identify medical image studies (DICOM PS3.15 header profile, burned-in "
        "text, adjustable pixel privacy level).",
    )
    parser.add_argument("--version", action=buildinfo.VersionAction)  # facts collected only when asked
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, modname in COMMANDS.items():
        try:
            mod = importlib.import_module(f"medeid_gui.cli.{modname}")
        except ModuleNotFoundError as exc:  # a command whose module is not written yet
            if exc.name != f"medeid_gui.cli.{modname}":
                raise
            continue
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("medeid: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
