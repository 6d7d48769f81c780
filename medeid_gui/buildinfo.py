"""What this copy of medeid is: version, commit, models, torch build, profile edition, OCR.

Why: a site that de-identifies patient images has to be able to say afterwards exactly which
software and which weights touched them.  ``medeid --version`` and the About box print the same
facts from here: the release, the git commit it was built from, the sha256 identity of every
installed pixel model with the domain it may be used for, the torch build and the device it would
run on, the PS3.15 edition of the header profile, and whether the OCR models are present.

Why everything is imported inside functions: ``medeid --help`` must stay fast and torch-free, and
this module is imported by the CLI's parser.  torch is imported only when it is installed, and a
CPU build never touches CUDA; a CUDA build asks for the device count only (no context is made).

Where the commit comes from: a bundle carries ``buildinfo.json`` written by
``packaging/build.sh`` (there is no ``.git`` inside an installed app); a source checkout asks git.
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from medeid_gui import __version__

__all__ = ["BuildStamp", "ModelLine", "BuildInfo", "read_stamp", "git_commit", "profile_edition",
           "model_lines", "torch_line", "ocr_line", "collect", "version_text", "about_html",
           "VersionAction", "STAMP_NAME"]

#: the file ``packaging/build.sh`` writes into the bundle's root (``sys._MEIPASS``)
STAMP_NAME = "buildinfo.json"


@dataclass(frozen=True)
class BuildStamp:
    """Facts fixed at build time (absent from a source checkout)."""

    commit: str
    dirty: bool = False
    built: str = ""  #: UTC time stamp of the build, ISO 8601


@dataclass(frozen=True)
class ModelLine:
    """One installed pixel model as shown to the user."""

    name: str
    digest: str  #: sha256 over the manifest's file table (ml.model_registry's model identity)
    domain: str
    shipped: bool
    verified: str  #: "verified" or why the bytes do not match the manifest
    files: tuple[tuple[str, str], ...] = ()  #: (file name, sha256) as recorded in the manifest
    folder: str = ""  #: where it was found (a bundle must use its own copy, not a source tree's)


@dataclass(frozen=True)
class BuildInfo:
    version: str
    commit: str
    profile: str
    torch: str
    ocr: str
    models: tuple[ModelLine, ...] = field(default_factory=tuple)
    problems: tuple[str, ...] = field(default_factory=tuple)  #: model folders that are not usable
    frozen: bool = False


def _bundle_root() -> Path | None:
    meipass = getattr(sys, "_MEIPASS", None)
    return Path(meipass) if meipass else None


def read_stamp(root: Path | None = None) -> BuildStamp | None:
    """The build stamp in ``root`` (default: the running bundle), or None when there is none."""
    root = root if root is not None else _bundle_root()
    if root is None or not (root / STAMP_NAME).is_file():
        return None
    try:
        data = json.loads((root / STAMP_NAME).read_text(encoding="utf-8"))
        return BuildStamp(commit=str(data["commit"]), dirty=bool(data.get("dirty", False)),
                          built=str(data.get("built", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def git_commit(source: Path | None = None) -> str:
    """``<12-hex>[+changes]`` of the source checkout, or "unknown" where there is no git."""
    source = source if source is not None else Path(__file__).resolve().parent.parent
    if not (source / ".git").exists():
        return "unknown"
    try:
        head = subprocess.run(["git", "-C", str(source), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def commit_text(stamp: BuildStamp | None = None) -> str:
    stamp = stamp if stamp is not None else read_stamp()
    if stamp is not None:
        built = f", built {stamp.built}" if stamp.built else ""
        return f"{stamp.commit}{'+changes' if stamp.dirty else ''}{built}"
    return git_commit()


def profile_edition(profiles: Path | None = None) -> str:
    """E.g. "DICOM PS3.15 2024b, Table E.1-1 (ps3.15-2024b-e1-1.json)" from the profile files."""
    if profiles is None:
        from medeid_gui._resources import resource

        profiles = resource("profiles")
    found = []
    for path in sorted(profiles.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("revision"):
            table = str(data.get("table", "")).split(" ", 1)[0]
            found.append(f"{data.get('standard', 'DICOM PS3.15')} {data['revision']}"
                         f"{', Table ' + table if table else ''} ({path.name})")
    return "; ".join(found) if found else f"no profile found in {profiles}"


def model_lines(*, verify: bool = True, shipped_dir: Path | None = None,
                user_dir: Path | None = None) -> tuple[list[ModelLine], list[str]]:
    """Every installed model (site models first, as the registry orders them) and the unusable folders."""
    from medeid_gui.ml.model_registry import ModelImportError, scan_models, verify_folder
    from medeid_gui.ml.weights import WeightsError, read_manifest

    models, problems = scan_models(shipped_dir=shipped_dir, user_dir=user_dir)
    out = []
    for m in models:
        status = "not checked"
        if verify:
            try:
                verify_folder(m.folder)
                status = "verified"
            except (ModelImportError, WeightsError) as exc:
                status = f"NOT VERIFIED: {exc}"
        files = tuple((name, str(entry.get("sha256", "")))
                      for name, entry in sorted(read_manifest(m.folder)["files"].items()))
        out.append(ModelLine(name=m.name, digest=m.digest, domain=m.domain.name, shipped=m.shipped,
                             verified=status, files=files, folder=str(m.folder)))
    return out, [f"{folder}: {why}" for folder, why in problems]


def torch_line() -> str:
    """torch version, its build (CPU / CUDA x.y) and the device medeid would run on."""
    if importlib.util.find_spec("torch") is None:
        return "torch not installed (pixel privacy unavailable)"
    import torch

    cuda = getattr(torch.version, "cuda", None)
    build = f"CUDA {cuda}" if cuda else ("ROCm " + str(torch.version.hip) if getattr(torch.version, "hip", None)
                                         else "CPU")
    if cuda or getattr(torch.version, "hip", None):
        # device_count() asks the driver (NVML) without creating a CUDA context
        n = torch.cuda.device_count()
        device = f"cuda ({n} GPU{'s' if n != 1 else ''})" if n else "cpu (no GPU found)"
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        device = "mps"
    else:
        device = f"cpu ({torch.get_num_threads()} threads)"
    return f"torch {torch.__version__} ({build} build), device {device}"


def ocr_line() -> str:
    """rapidocr's version and whether its ONNX models are on disk (no download at run time)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        return "rapidocr not installed (burned-in text detection unavailable)"
    pkg = Path(next(iter(spec.submodule_search_locations)))
    onnx = sorted(p.name for p in (pkg / "models").glob("*.onnx"))
    try:
        from importlib.metadata import version

        ver = version("rapidocr")
    except Exception:  # noqa: BLE001 - a frozen bundle may lack the metadata; the models decide
        ver = "?"
    if not onnx:
        return f"rapidocr {ver}: NO OCR MODELS in {pkg / 'models'}"
    return f"rapidocr {ver}, {len(onnx)} models ({', '.join(onnx)})"


def collect(*, verify: bool = True) -> BuildInfo:
    """Everything ``--version`` and the About box show (imports torch when it is installed)."""
    try:
        models, problems = model_lines(verify=verify)
    except FileNotFoundError as exc:
        models, problems = [], [str(exc)]
    return BuildInfo(version=__version__, commit=commit_text(), profile=profile_edition(),
                     torch=torch_line(), ocr=ocr_line(), models=tuple(models), problems=tuple(problems),
                     frozen=_bundle_root() is not None)


def _model_block(m: ModelLine) -> list[str]:
    where = "shipped" if m.shipped else "site model"
    return [f"model {m.name} ({where}, {m.verified})",
            f"  sha256 {m.digest}",
            f"  domain: {m.domain}",
            f"  folder {m.folder}",
            *[f"  {name} sha256 {digest}" for name, digest in m.files]]


def version_text(info: BuildInfo) -> str:
    """Plain text for ``medeid --version``: one fact per line, stable enough to grep."""
    lines = [f"medeid {info.version}{' (bundle)' if info.frozen else ''}",
             f"commit {info.commit}",
             f"profile {info.profile}",
             info.torch,
             f"ocr {info.ocr}"]
    if not info.models:
        lines.append("model none installed (pixel privacy unavailable)")
    for m in info.models:
        lines += _model_block(m)
    lines += [f"problem {p}" for p in info.problems]
    return "\n".join(lines)


def about_html(info: BuildInfo) -> str:
    """Rich text for the About box (Qt's subset of HTML); every value escaped."""
    e = html.escape
    rows = [("Version", info.version + (" (bundle)" if info.frozen else "")), ("Commit", info.commit),
            ("Header profile", info.profile), ("Torch", info.torch), ("OCR", info.ocr)]
    out = ["<h3>medeid</h3>",
           "<p>De-identifies medical image studies: DICOM PS3.15 header profile, burned-in text, "
           "adjustable pixel privacy.</p>", "<table>"]
    out += [f"<tr><td><b>{e(k)}</b></td><td>{e(v)}</td></tr>" for k, v in rows]
    out.append("</table>")
    if not info.models:
        out.append("<p><b>Pixel models:</b> none installed</p>")
    for m in info.models:
        where = "shipped" if m.shipped else "site model"
        out.append(f"<p><b>Model {e(m.name)}</b> ({where}, {e(m.verified)})<br>"
                   f"domain: {e(m.domain)}<br><tt>sha256 {e(m.digest)}</tt></p>")
    out += [f"<p><b>Problem:</b> {e(p)}</p>" for p in info.problems]
    return "\n".join(out)


class VersionAction(argparse.Action):
    """``--version``: collect the facts only when asked (the parser is built on every call)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0,
                         help=help or "print the version, commit, models, torch build and profile edition, then exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(version_text(collect()), flush=True)  # stdout, as argparse's own version action does
        parser.exit(0)
