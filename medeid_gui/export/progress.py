"""Progress events of a batch export and the two ways the CLI shows them.

Why separate: the pipeline reports plain ``ProgressEvent`` values through a callback and knows
nothing about terminals; the GUI turns the same events into a progress bar, the CLI into a
redrawn line on a tty, or JSON lines for machines (``--json``), and nothing at all when stderr
is a pipe (a log should not fill with carriage returns).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import IO


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a run. ``phase`` is ``scan``, ``export``, ``finalize`` or ``done``.

    ``done``/``total`` count files in the current phase (``total`` is 0 while unknown);
    ``bytes_done``/``bytes_total`` count input bytes; ``path`` is the file just handled (input
    side — shown only to the operator, never written to the output) and ``status`` its result.
    """

    phase: str
    done: int = 0
    total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    path: str = ""
    status: str = ""
    message: str = ""
    failed: int = 0


ProgressCallback = Callable[[ProgressEvent], None]


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


class TerminalProgress:
    """A single redrawn status line on a terminal (at most ~10 redraws per second)."""

    def __init__(self, stream: IO[str] | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self._last = 0.0
        self._t0 = time.monotonic()

    def __call__(self, ev: ProgressEvent) -> None:
        now = time.monotonic()
        final = ev.phase in ("done",) or (ev.total and ev.done >= ev.total)
        if not final and now - self._last < 0.1:
            return
        self._last = now
        if ev.phase == "scan":
            line = f"scanning: {ev.done} files, {_human(ev.bytes_done)}"
        elif ev.phase in ("export", "finalize"):
            frac = ev.done / ev.total if ev.total else 0.0
            filled = int(frac * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            rate = ev.done / max(now - self._t0, 1e-6)
            line = (
                f"{ev.phase}: [{bar}] {ev.done}/{ev.total} files "
                f"{_human(ev.bytes_done)}/{_human(ev.bytes_total)} {rate:.0f}/s"
                + (f" failed {ev.failed}" if ev.failed else "")
            )
        else:
            line = ev.message or ev.phase
        self.stream.write("\r" + line[:150].ljust(80))
        if ev.phase == "done":
            self.stream.write("\n")
        self.stream.flush()


class JsonProgress:
    """One JSON object per event and line, for scripts and other programs."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout

    def __call__(self, ev: ProgressEvent) -> None:
        self.stream.write(json.dumps(asdict(ev), ensure_ascii=False) + "\n")
        self.stream.flush()


def for_cli(json_lines: bool, stream: IO[str] | None = None) -> ProgressCallback | None:
    """The progress reporter the CLI uses: JSON lines, a terminal bar, or none when not a tty."""
    if json_lines:
        return JsonProgress()
    s = stream or sys.stderr
    if hasattr(s, "isatty") and s.isatty():
        return TerminalProgress(s)
    return None
