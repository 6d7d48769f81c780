"""Progress display: a redrawn bar on a terminal, nothing when piped, JSON lines on request."""

from __future__ import annotations

import io
import json

from medeid_gui.export.progress import JsonProgress, ProgressEvent, TerminalProgress, for_cli


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_bar_redraws_one_line_and_ends_with_newline() -> None:
    s = _Tty()
    bar = TerminalProgress(s)
    bar(ProgressEvent("scan", done=3, bytes_done=2048))
    bar(ProgressEvent("export", done=5, total=5, bytes_done=10, bytes_total=10, failed=1))
    bar(ProgressEvent("done", message="5 exported"))
    text = s.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert "5/5 files" in text and "failed 1" in text and "#" * 30 in text


def test_cli_reporter_choice() -> None:
    assert for_cli(False, io.StringIO()) is None  # piped: quiet
    assert isinstance(for_cli(False, _Tty()), TerminalProgress)
    assert isinstance(for_cli(True), JsonProgress)
    out = io.StringIO()
    JsonProgress(out)(ProgressEvent("export", done=1, total=2, path="a/b.dcm", status="exported"))
    d = json.loads(out.getvalue())
    assert d["phase"] == "export" and d["done"] == 1 and d["status"] == "exported"
