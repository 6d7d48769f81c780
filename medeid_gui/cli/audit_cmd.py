"""``medeid audit IN OUT``: search the output for anything identifying from the originals."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "check an export: no identifying value of IN in OUT's bytes or paths, every input accounted for"
DESCRIPTION = (
    "Independent self-check of an export. Reads the originals under IN, collects every value "
    "PS3.15 says must not survive (names, IDs, dates, instance UIDs, free text, private values) "
    "and searches the raw bytes and the paths of OUT for them. Also checks the manifest (every "
    "input accounted for, every output present with its hash, nothing else in OUT) and UID "
    "consistency. Then reads the pixels of every exported DICOM file with the OCR (all frames up "
    "to --pixel-frames per file, else an even sample, noted) and reports any PHI value of its "
    "original still readable as burned-in text (--no-pixels skips this; it costs seconds per "
    "frame). Exit code 1 on any finding, 0 when clean."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="IN")
    p.add_argument("output", metavar="OUT")
    p.add_argument("--profile", default="basic", help="the preset the export used (values it retains are not searched)")
    p.add_argument("--option", action="append", default=[], metavar="NAME", help="extra option the export used")
    p.add_argument("--manifest", metavar="CSV", help="manifest of the export (default: found from OUT)")
    p.add_argument("--state-dir", metavar="DIR", help="state folder the export used")
    p.add_argument("--no-pixels", action="store_true", help="do not OCR the exported frames for burned-in PHI")
    p.add_argument("--pixel-frames", type=int, default=16, metavar="N",
                   help="frames read per file at most; longer objects are sampled evenly (default 16)")
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.add_argument("--max-lines", type=int, default=50, help="findings to print (default 50)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from medeid_gui.deid.options import parse
    from medeid_gui.export.audit import audit

    try:
        options = parse(args.profile, args.option)
    except ValueError as exc:
        print(f"medeid audit: {exc}", file=sys.stderr)
        return 2
    if not Path(args.input).exists() or not Path(args.output).is_dir():
        print("medeid audit: IN must exist and OUT must be a folder", file=sys.stderr)
        return 2
    rep = audit(Path(args.input), Path(args.output), manifest=Path(args.manifest) if args.manifest else None,
                state_dir=Path(args.state_dir) if args.state_dir else None, options=options,
                pixels=not args.no_pixels, pixel_max_frames=max(1, args.pixel_frames))
    if args.json:
        print(json.dumps({
            "ok": rep.ok, "inputs": rep.inputs, "outputs_scanned": rep.outputs_scanned,
            "values_collected": rep.values_collected,
            "hits": [h.__dict__ for h in rep.hits], "unaccounted": rep.unaccounted,
            "missing_outputs": rep.missing_outputs, "hash_mismatches": rep.hash_mismatches,
            "stray_outputs": rep.stray_outputs, "uid_problems": rep.uid_problems, "notes": rep.notes,
            "pixel_findings": [f.__dict__ for f in rep.pixel_findings],
            "pixel_files_read": rep.pixel_files_read, "pixel_frames_read": rep.pixel_frames_read,
        }, indent=1))
        return 0 if rep.ok else 1
    lines: list[str] = [h.line() for h in rep.hits]
    lines += [f"UNACCOUNTED input (no manifest row): {p}" for p in rep.unaccounted]
    lines += [f"MISSING output listed in the manifest: {p}" for p in rep.missing_outputs]
    lines += [f"HASH differs from the manifest: {p}" for p in rep.hash_mismatches]
    lines += [f"STRAY file in the output (not in the manifest): {p}" for p in rep.stray_outputs]
    lines += [f"UID: {p}" for p in rep.uid_problems]
    lines += [f.line() for f in rep.pixel_findings]
    for ln in lines[: args.max_lines]:
        print(ln)
    if len(lines) > args.max_lines:
        print(f"… {len(lines) - args.max_lines} more findings")
    for n in rep.notes:
        print(f"note: {n}")
    print(
        f"audit: {rep.inputs} inputs, {rep.outputs_scanned} output files searched for "
        f"{rep.values_collected} identifying values"
        + ("" if args.no_pixels else f", pixels of {rep.pixel_files_read} files ({rep.pixel_frames_read} frames) read")
        + ": "
        + (
            ("no leak found" + (", every input accounted for" if not rep.notes else ""))
            if rep.ok
            else f"{len(lines)} finding(s)"
        )
    )
    return 0 if rep.ok else 1
