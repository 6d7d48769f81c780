"""The app's side of "Train a privacy model on a folder…", without Qt: the command and its output.

Why a separate process: training takes minutes to hours and loads torch's training stack; run in
the window's process it would compete with the viewer for the interpreter and a crash or a cancel
would take the window down.  So the app runs its own CLI (``medeid ml train FOLDER --progress
json``): from source ``python -m medeid_gui``, frozen the ``medeid`` executable beside the app's
(PyInstaller bundles both into one folder, packaging/medeid.spec).  The CLI prints one JSON object
a line for the plan, each step and the end (``lab.train_progress``); this module builds the command
and turns those lines into state the dialog shows.  Cancel kills the process; Start again resumes,
because the training resumes from its checkpoints.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["TrainOptions", "PlanDomain", "TrainPlan", "TrainRun", "train_command", "parse_line",
           "cli_program", "cli_environment", "format_minutes", "model_report", "why_no_plan",
           "time_left"]


@dataclass(frozen=True)
class TrainOptions:
    """What the dialog passes to ``medeid ml train`` besides the folder (defaults: the CLI's)."""

    min_patients: int | None = None
    size: int | None = None
    steps: str = ""  #: e.g. "reid=2,idmap=2" (tests and quick trials)
    threads: int | None = None
    labels: str | None = None  #: a labels CSV (licences; lung masks, scores, findings: task teachers)
    extra: tuple[str, ...] = ()  #: further CLI arguments, passed as they are

    def arguments(self) -> list[str]:
        args: list[str] = []
        if self.labels:
            args += ["--labels", self.labels]
        if self.min_patients is not None:
            args += ["--min-patients", str(self.min_patients)]
        if self.size is not None:
            args += ["--size", str(self.size)]
        if self.steps:
            args += ["--steps", self.steps]
        if self.threads is not None:
            args += ["--threads", str(self.threads)]
        return args + list(self.extra)


def cli_program(*, frozen: bool | None = None, executable: str | None = None) -> list[str]:
    """The program and leading arguments that run this app's CLI.

    Frozen (PyInstaller): the ``medeid`` console executable in the bundle folder (``medeid.exe``
    on Windows); from source: this interpreter with ``-m medeid_gui``.
    """
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    exe = executable or sys.executable
    if frozen:
        name = "medeid.exe" if sys.platform == "win32" else "medeid"
        return [str(Path(exe).with_name(name))]
    return [exe, "-m", "medeid_gui"]


def train_command(folder: str | Path, options: TrainOptions | None = None, *, dry_run: bool = False,
                  frozen: bool | None = None, executable: str | None = None) -> list[str]:
    """The full command line: program first, then ``ml train FOLDER --progress json ...``."""
    args = ["ml", "train", str(folder), "--progress", "json"]
    args += (options or TrainOptions()).arguments()
    if dry_run:
        args.append("--dry-run")
    return cli_program(frozen=frozen, executable=executable) + args


def cli_environment(base: Mapping[str, str], *, frozen: bool | None = None) -> dict[str, str]:
    """The child's environment: ``base`` with unbuffered output (progress arrives as it happens)
    and, from source, this very ``medeid_gui`` first on the path (not another installed copy)."""
    env = dict(base)
    env["PYTHONUNBUFFERED"] = "1"
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    if not frozen:
        root = str(Path(__file__).resolve().parents[2])
        rest = env.get("PYTHONPATH", "")
        env["PYTHONPATH"] = root + (os.pathsep + rest if rest else "")
    return env


def parse_line(line: str) -> dict[str, object] | None:
    """The progress event a line of the CLI's stdout carries, or None for a line of the human log."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("medeid") != "train" or "event" not in obj:
        return None
    return obj


def time_left(fraction: float, elapsed_s: float) -> str:
    """The remaining time extrapolated from the run so far ("" until there is something to go on:
    the first steps include loading torch and the images)."""
    if fraction <= 0.02 or fraction >= 1.0 or elapsed_s < 5:
        return ""
    return f"{format_minutes(elapsed_s * (1 - fraction) / fraction)} left"


def why_no_plan(code: int, stderr: str) -> str:
    """What the dialog says when the dry run gave no plan: the CLI's own last words, and for a
    build without the training tools (``ml train`` is not a command there: bundles built before
    the spec carried the training modules, packaging/lab_modules.py, or installs without
    ``medeid_gui.lab``) how to train instead."""
    if "invalid choice: 'train'" in stderr or "invalid choice: 'ml'" in stderr:
        return ("This installation does not include the training tools. Install a newer version, "
                "or train from a source install with: medeid ml train FOLDER, then import the "
                "model in Settings > Privacy Models.")
    last = next((ln.strip() for ln in reversed(stderr.splitlines()) if ln.strip()), "")
    return f"The folder could not be planned (exit status {code})" + (f": {last}" if last else "; see the log.")


def format_minutes(seconds: float) -> str:
    """An estimate as people say it: "under a minute", "about 7 min", "about 2.5 h"."""
    if seconds < 60:
        return "under a minute"
    if seconds < 90 * 60:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


@dataclass(frozen=True)
class PlanDomain:
    """One domain of the folder as the plan lists it."""

    key: str
    name: str
    images: int
    patients: int
    multi_day: int
    trainable: bool
    reason: str
    estimate_s: float

    @property
    def line(self) -> str:
        """One line for the dialog's list."""
        counts = f"{self.images} images, {self.patients} patients, {self.multi_day} imaged on ≥ 2 days"
        if self.trainable:
            return f"TRAIN  {self.name} — {counts}; {format_minutes(self.estimate_s)}"
        return f"skip   {self.name} — {counts}; {self.reason}"


@dataclass(frozen=True)
class TrainPlan:
    """The dry run's answer: domains, unreadable files, the estimate."""

    root: str
    domains: tuple[PlanDomain, ...]
    bad: tuple[tuple[str, str], ...]
    estimate_s: float
    device: str

    @property
    def trainable(self) -> tuple[PlanDomain, ...]:
        return tuple(d for d in self.domains if d.trainable)

    @property
    def summary(self) -> str:
        """The line under the list: how many domains, what is left out, how long."""
        n = len(self.trainable)
        head = (f"{n} domain(s) to train, {format_minutes(self.estimate_s)} on {self.device}" if n
                else "nothing to train: no domain has enough patients imaged on two or more days")
        return head + (f"; {len(self.bad)} unreadable file(s) left out" if self.bad else "")

    @classmethod
    def from_event(cls, ev: dict[str, object]) -> TrainPlan:
        doms = tuple(PlanDomain(str(d["key"]), str(d["name"]), int(d["images"]), int(d["patients"]),
                                int(d["multi_day"]), bool(d["trainable"]), str(d["reason"]),
                                float(d["estimate_s"]))
                     for d in ev.get("domains", []))  # type: ignore[union-attr]
        bad = tuple((str(p), str(w)) for p, w in ev.get("bad", []))  # type: ignore[union-attr]
        return cls(str(ev.get("root", "")), doms, bad, float(ev.get("estimate_s", 0.0)),  # type: ignore[arg-type]
                   str(ev.get("device", "")))


@dataclass
class TrainRun:
    """What one run of the CLI has said so far; :meth:`feed` it stdout as it arrives."""

    plan: TrainPlan | None = None
    fraction: float = 0.0  #: of the whole run, 0..1
    status: str = ""  #: the current step, for the label under the bar
    models: list[str] = field(default_factory=list)  #: model folders written
    failed: list[str] = field(default_factory=list)  #: "key: why" of domains not trained
    skipped: list[tuple[str, str]] = field(default_factory=list)
    rc: int | None = None  #: the run's own exit status from its ``done`` event
    log: list[str] = field(default_factory=list)  #: the human lines, as printed
    _partial: str = ""

    def feed(self, text: str) -> list[dict[str, object]]:
        """Take a chunk of stdout (lines may be split across chunks); returns the events in it."""
        text = self._partial + text
        *lines, self._partial = text.split("\n")
        events = []
        for line in lines:
            ev = parse_line(line)
            if ev is None:
                if line.strip():
                    self.log.append(line.rstrip("\r"))
                continue
            self._apply(ev)
            events.append(ev)
        return events

    def finish(self) -> list[dict[str, object]]:
        """The last line when the process ended without a newline."""
        rest, self._partial = self._partial, ""
        return self.feed(rest + "\n") if rest else []

    def _apply(self, ev: dict[str, object]) -> None:
        kind = ev["event"]
        if kind == "plan":
            self.plan = TrainPlan.from_event(ev)
        elif kind == "domain":
            self.status = f"{ev.get('key')}: {ev.get('source', '')}"
        elif kind == "step":
            self.fraction = max(self.fraction, float(ev.get("fraction", 0.0)))  # type: ignore[arg-type]
            self.status = f"{ev.get('key')}: stage {ev.get('stage')} step {ev.get('step')}/{ev.get('steps')}"
        elif kind == "evaluating":
            self.fraction = max(self.fraction, float(ev.get("fraction", 0.0)))  # type: ignore[arg-type]
            self.status = f"{ev.get('key')}: evaluating on held-out patients ({ev.get('what')})"
        elif kind == "model":
            self.models.append(str(ev["folder"]))
        elif kind == "failed":
            self.failed.append(f"{ev.get('key')}: {ev.get('message')}")
        elif kind == "done":
            self.rc = int(ev.get("rc", 1))  # type: ignore[call-overload]
            self.skipped = [(str(s["key"]), str(s["reason"])) for s in ev.get("skipped", [])]  # type: ignore[index,union-attr]
            if self.rc == 0 and self.models:
                self.fraction = 1.0


def model_report(folder: str | Path) -> str:
    """What the dialog shows for a freshly trained model (Markdown): the registry's facts, the
    training record from the manifest, and the model's card."""
    from medeid_gui.ml.model_registry import describe_model
    from medeid_gui.ml.weights import read_manifest

    folder = Path(folder)
    m = describe_model(folder)
    training = read_manifest(folder).get("training", {})
    lines = [f"### {m.name}", "", f"- **Domain:** {m.domain.name}",
             f"- **Trained on:** {m.domain.trained_on or 'not stated'}",
             f"- **Licence:** {m.licence}", f"- **Evaluation:** {m.evaluation}",
             f"- **sha256:** `{m.digest}`", f"- **Folder:** `{folder}`"]
    if isinstance(training, dict) and training:
        lines.append(f"- **Training:** {training.get('images')} images of {training.get('patients')} patients, "
                     f"{training.get('seconds')} s, steps {training.get('steps')}")
    card = folder / "medeid-compensator.md"
    if card.is_file():
        lines += ["", card.read_text(encoding="utf-8")]
    return "\n".join(lines)
