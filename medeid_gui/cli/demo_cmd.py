"""``medeid demo OUT``: the whole job on bundled demo data — export, then audit — in one command.

Why: ``make demo`` on a fresh clone must show what the tool does without any data of one's own.
The demo uses its own key and ledger under the user state folder (never the project key a site
uses for real data) and the bundled cohort in ``resources/demo/``; a source checkout without it
falls back to a handful of pydicom's test files.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

HELP = "de-identify the bundled demo data into OUT and audit the result"

#: fallback demo input when resources/demo holds no DICOM files (pydicom's own test data)
FALLBACK = ("CT_small.dcm", "MR_small.dcm", "SC_rgb.dcm", "US1_UNCR.dcm", "rtplan.dcm", "emri_small.dcm")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("output", metavar="OUT", nargs="?", default="out/demo", help="output folder (default out/demo)")
    p.add_argument("--input", metavar="DIR", help="use this folder instead of the bundled demo data")
    p.add_argument("--workers", type=int, default=None, metavar="N")
    p.add_argument("--burned-in", choices=("auto", "all", "off", "on"), default="auto")
    p.add_argument("--privacy", type=float, default=0.5, metavar="P",
                   help="pixel privacy level 0..1 (default 0.5: the shipped model blocks half the patches)")


def _demo_input(state: Path) -> tuple[Path, str]:
    from medeid_gui._resources import resource
    from medeid_gui.dicom.read import sniff

    try:
        demo = resource("demo")
    except FileNotFoundError:
        demo = None
    if demo is not None and (demo / "dicom").is_dir():
        demo = demo / "dicom"  # the images; labels and masks beside them are not DICOM
    if demo is not None and demo.is_dir():
        for p in demo.rglob("*"):
            if p.is_file():
                with open(p, "rb") as fh:
                    if sniff(fh.read(256)):
                        return demo, f"bundled demo data ({demo})"
    from pydicom.data import get_testdata_file

    dst = state / "fallback-input"  # stable, so a second demo run resumes like any export
    dst.mkdir(parents=True, exist_ok=True)
    for name in FALLBACK:
        src = get_testdata_file(name, download=False)  # never reach the network
        if src and not (dst / name).exists():
            shutil.copyfile(src, dst / name)
    return dst, "pydicom test files (resources/demo holds no DICOM data)"


def run(args: argparse.Namespace) -> int:
    from medeid_gui.deid.engine import DeidConfig
    from medeid_gui.deid.options import parse
    from medeid_gui.export import progress as prog
    from medeid_gui.export.audit import audit
    from medeid_gui.export.pipeline import ExportConfig, ExportError, run_export
    from medeid_gui.export.rundb import default_state_dir

    state = default_state_dir() / "demo"
    out = Path(args.output)
    if args.input:
        inp, what = Path(args.input), f"folder {args.input}"
    else:
        inp, what = _demo_input(state)
    print(f"demo input: {what}")
    try:  # the configuration checks the privacy level when built: ExportError too
        cfg = ExportConfig(
            input=inp, output=out, deid=DeidConfig(options=parse("research")), key_file=state / "demo.key",
            workers=args.workers, burned_in=args.burned_in, privacy=args.privacy,
            ledger=state / "ledger.sqlite", state_dir=state,
        )
        s = run_export(cfg, progress=prog.for_cli(False))
    except ExportError as exc:
        print(f"medeid demo: {exc}", file=sys.stderr)
        return 2
    print(f"exported {s.exported} of {s.files} files ({s.studies} studies) into {out} "
          f"[profile research]; failed {s.failed}, skipped {s.skipped}")
    for path, reason in s.failures[:10]:
        print(f"  FAILED {Path(path).name}: {reason}")
    for n in s.notes:
        print(f"note: {n}")
    rep = audit(inp, out, state_dir=state, options=parse("research"))
    for h in rep.hits[:10]:
        print(h.line())
    print(f"audit: searched {rep.outputs_scanned} output files for {rep.values_collected} identifying values "
          f"from the originals: {'no leak found' if rep.ok else 'FINDINGS (see above)'}")
    print(f"manifest: {s.manifest_path}\nlinkage ledger (demo key): {s.ledger_path}")
    return 0 if (rep.ok and s.exported > 0) else 1
