"""``medeid export IN OUT``: de-identify every DICOM file under IN into OUT (resumable)."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "de-identify every DICOM file under IN into OUT (resumable, parallel, with manifest)"
DESCRIPTION = (
    "De-identify a folder (an archive) into OUT: folders by pseudonymous patient/study/series, "
    "files named by the new SOPInstanceUID. Inputs are never modified. A manifest row is kept "
    "for every input file; rerunning the same command after an interruption resumes and gives "
    "byte-identical output. The linkage ledger (original <-> pseudonym) is stored apart from "
    "OUT. Exit code 0 when every DICOM file was exported, 1 when any failed, 2 on a usage error."
)


def _rect(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("a rectangle is X,Y,W,H in pixels, e.g. 0,0,200,40") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise argparse.ArgumentTypeError("a rectangle needs X,Y >= 0 and W,H > 0")
    return (x, y, w, h)


def _series_level(text: str) -> tuple[str, float]:
    """``UID=P`` as (uid, level); the level through ``ml.privacy.check_privacy`` like any other."""
    from medeid_gui.ml.privacy import check_privacy

    uid, sep, level = text.partition("=")
    try:
        if not sep or not uid.strip():
            raise ValueError(text)
        return uid.strip(), check_privacy(level)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected UID=P with P between 0 and 1, got {text!r}") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="IN", help="input folder (or file)")
    p.add_argument("output", metavar="OUT", help="output folder (new or an earlier export of the same command)")
    p.add_argument("--profile", default="basic", help="preset: basic, research, research-clean (default basic)")
    p.add_argument("--option", action="append", default=[], metavar="NAME",
                   help="extra PS3.15 option, e.g. retain-uids (repeatable)")
    p.add_argument(
        "--safe-private", metavar="FILE", help="allowlist of safe private attributes (with retain-safe-private)"
    )
    p.add_argument("--key-file", metavar="F", help="project key file (default: user data dir; created on first use)")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="processes (default: number of cores)")
    p.add_argument(
        "--format",
        dest="fmt",
        choices=("dicom", "png", "npy"),
        default="dicom",
        help="dicom (default), png (8-bit windowed frames) or npy (float32 frames) + metadata.csv",
    )
    p.add_argument("--dicomdir", action="store_true", help="lay the output out as a PS3.10 File-set with a DICOMDIR")
    p.add_argument("--quarantine", metavar="DIR", help="copy inputs that fail here (outside IN and OUT)")
    p.add_argument(
        "--privacy",
        type=float,
        default=0.0,
        metavar="P",
        help="pixel privacy level 0..1 (fraction of identity patches blocked; default 0)",
    )
    p.add_argument(
        "--burned-in",
        choices=("auto", "all", "off", "on"),
        default="auto",
        help="burned-in text: auto (default) redacts detected text that matches PHI in images "
        "that may carry it; all redacts every detected text ('on' is an alias); off",
    )
    p.add_argument(
        "--series-privacy",
        action="append",
        default=[],
        type=_series_level,
        metavar="UID=P",
        help="privacy level for one series (original SeriesInstanceUID); repeatable; other series use --privacy",
    )
    p.add_argument(
        "--strict-privacy",
        action="store_true",
        help="fail files the pixel privacy method may not run on (no model for their domain, or an "
        "unfamiliar image) instead of exporting them with header and burned-in text de-identification only",
    )
    p.add_argument(
        "--rect",
        action="append",
        type=_rect,
        default=[],
        metavar="X,Y,W,H",
        help="also blank this rectangle in every frame (repeatable)",
    )
    p.add_argument("--ledger", metavar="PATH", help="linkage ledger file (default: user data dir)")
    p.add_argument(
        "--state-dir", metavar="DIR", help="where run databases and manifests live (default: user state dir)"
    )
    p.add_argument("--manifest", metavar="CSV", help="also write the manifest to this file")
    p.add_argument("--json", action="store_true", help="progress and summary as JSON lines on stdout")
    p.add_argument(
        "--cluster", metavar="ADDR", default=None,
        help="run the workers on Dask: local:N (N local worker processes) or tcp://|tls://HOST:PORT "
        "(a running scheduler; workers need the input, output and key file paths); pip install 'medeid[cluster]'",
    )


def run(args: argparse.Namespace) -> int:
    from medeid_gui.deid.engine import DeidConfig
    from medeid_gui.deid.options import parse
    from medeid_gui.export import progress as prog
    from medeid_gui.export.pipeline import ExportConfig, ExportError, run_export

    try:
        options = parse(args.profile, args.option)
    except ValueError as exc:
        print(f"medeid export: {exc}", file=sys.stderr)
        return 2
    reporter = prog.for_cli(args.json)
    if reporter is None and args.cluster:  # no bar: still say where the Dask dashboard is
        def reporter(ev: prog.ProgressEvent) -> None:
            if ev.phase == "cluster":
                print(ev.message, file=sys.stderr, flush=True)
    try:  # the configuration checks its privacy levels when built: ExportError too
        cfg = ExportConfig(
            input=args.input,
            output=args.output,
            deid=DeidConfig(options=options, profile="basic", safe_private_path=args.safe_private),
            key_file=args.key_file,
            workers=args.workers,
            fmt=args.fmt,
            dicomdir=args.dicomdir,
            quarantine=args.quarantine,
            privacy=args.privacy,
            burned_in="all" if args.burned_in == "on" else args.burned_in,
            rectangles=args.rect or None,
            privacy_by_series=dict(args.series_privacy) or None,
            strict_privacy=bool(getattr(args, "strict_privacy", False)),
            state_dir=args.state_dir,
            ledger=args.ledger,
            manifest=args.manifest,
            cluster=args.cluster,
        )
        if args.cluster:  # a malformed address is a usage error before anything is written
            from medeid_gui.export.cluster import parse_address

            parse_address(args.cluster)
        s = run_export(cfg, progress=reporter)
    except ExportError as exc:
        print(f"medeid export: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(
            json.dumps(
                {
                    "summary": {
                        "exported": s.exported,
                        "skipped": s.skipped,
                        "failed": s.failed,
                        "quarantined": s.quarantined,
                        "resumed": s.resumed,
                        "files": s.files,
                        "studies": s.studies,
                        "bytes": s.bytes,
                        "manifest": str(s.manifest_path),
                        "ledger": str(s.ledger_path),
                        "notes": s.notes,
                        "cancelled": s.cancelled,
                    }
                }
            )
        )
    else:
        print(f"scanned {s.files} files ({s.studies} studies, {s.bytes / 1e6:.1f} MB of DICOM)")
        print(
            f"exported {s.exported}, skipped {s.skipped}, failed {s.failed}, quarantined {s.quarantined}"
            + (f" ({s.resumed} already done by an earlier run)" if s.resumed else "")
        )
        for path, reason in s.failures[:20]:
            print(f"  FAILED {path}: {reason}")
        if len(s.failures) > 20:
            print(f"  … {len(s.failures) - 20} more, see the manifest")
        for n in s.notes:
            print(f"note: {n}")
        print(f"manifest: {s.manifest_path}")
        print(f"linkage ledger: {s.ledger_path}")
    return 0 if s.ok else 1
