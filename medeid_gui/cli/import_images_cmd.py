"""``medeid import-images``: a folder of PNG/JPEG images with a CSV -> DICOM Secondary Capture.

Why a command: research data exported as images plus a spreadsheet must enter the same
de-identification and training path as DICOM archives. The work is in
``medeid_gui/dicom/import_images.py``; this module only parses arguments and reports.
"""

from __future__ import annotations

import argparse

HELP = "convert a folder of PNG/JPEG images with a CSV of patient/day/view into DICOM"
DESCRIPTION = (
    "Write one DICOM Secondary Capture file per CSV row: one study per patient and acquisition "
    "day, one series per view, the image's own grey levels, the row's licence and source in "
    "Image Comments. UIDs are derived from the input, so a re-import gives the same files. Bad "
    "rows or images are reported with a reason and the run goes on; existing files are kept "
    "unless --force. Exit status: 0 all rows written, 1 some rows skipped, 2 nothing could start."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from medeid_gui.dicom.import_images import DEFAULT_COLUMNS, DEFAULT_SOURCE_COLUMNS

    parser.add_argument("folder", help="folder holding the image files (CSV image names are relative to it)")
    parser.add_argument("out", help="output folder for the DICOM files")
    parser.add_argument("--metadata", required=True, metavar="CSV", help="the CSV, one row per image")
    parser.add_argument(
        "--column", action="append", default=[], metavar="FIELD=NAME",
        help="read FIELD from CSV column NAME (repeatable; NAME empty to ignore the field). Fields "
        "and defaults: " + ", ".join(f"{k}={v}" for k, v in DEFAULT_COLUMNS.items()))
    parser.add_argument(
        "--source-columns", default=",".join(DEFAULT_SOURCE_COLUMNS), metavar="A,B,...",
        help="CSV columns copied into Image Comments as provenance (default: %(default)s)")
    parser.add_argument("--modality", default="DX",
                        help="Modality of the source images (default DX; CR, OT, ...)")
    parser.add_argument("--body-part", default=None,
                        help="Body Part Examined for rows without a body_part value (e.g. CHEST)")
    parser.add_argument("--base-date", default=None, metavar="YYYY-MM-DD",
                        help="with a day-offset column: write Study Date = base date + offset")
    parser.add_argument("--report", default=None, metavar="CSV",
                        help="write one line per row (status, reason, output file, UID, licence)")
    parser.add_argument("--force", action="store_true", help="replace existing output files")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the summary and problems")


def _columns(pairs: list[str]) -> dict[str, str]:
    from medeid_gui.dicom.import_images import DEFAULT_COLUMNS

    cols = dict(DEFAULT_COLUMNS)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or key not in DEFAULT_COLUMNS:
            raise ValueError(f"--column {pair!r}: expected FIELD=NAME with FIELD one of {', '.join(DEFAULT_COLUMNS)}")
        cols[key] = value.strip()
    return cols


def run(args: argparse.Namespace) -> int:
    import datetime as dt
    import sys

    from medeid_gui.dicom.import_images import (
        ImportOptions,
        ImportSetupError,
        import_images,
        write_report,
    )

    try:
        base = dt.date.fromisoformat(args.base_date) if args.base_date else None
        options = ImportOptions(
            columns=_columns(args.column),
            source_columns=tuple(c.strip() for c in args.source_columns.split(",") if c.strip()),
            modality=args.modality.strip().upper(), body_part=args.body_part, base_date=base,
            force=args.force)
    except ValueError as exc:
        print(f"medeid import-images: {exc}", file=sys.stderr)
        return 2

    def show(o) -> None:
        where = f"row {o.row} " if o.row is not None else ""
        if o.status == "written":
            if not args.quiet:
                print(f"{where}{o.image} -> {o.output}" + (f" ({o.reason})" if o.reason else ""))
        elif o.status == "skipped":
            print(f"skipped {where}{o.image}: {o.reason}", file=sys.stderr)

    try:
        result = import_images(args.folder, args.metadata, args.out, options, progress=show)
    except ImportSetupError as exc:
        print(f"medeid import-images: {exc}", file=sys.stderr)
        return 2
    unlisted = result.count("unlisted")
    if args.report:
        write_report(result, args.report)
    print(f"written {result.written}, skipped {result.skipped}"
          + (f", {unlisted} image file(s) in the folder not named by the CSV" if unlisted else ""))
    return 1 if result.skipped else 0
