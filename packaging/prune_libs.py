"""Leave out the system libraries that only the dropped Qt plugins and modules needed.

Why: PyInstaller collects a plugin's dependencies (GTK, cairo, pango, glib, Kerberos for
QtNetwork ...) as separate top-level entries; dropping the plugin in medeid.spec leaves them
behind.  This keeps a top-level library only while some kept binary still lists it as NEEDED,
and it only ever removes libraries that a dropped binary needed (libraries opened at run time,
such as libpython, are never candidates).  Linux only (readelf from binutils); elsewhere a no-op.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterable
from functools import cache

#: (destination, source, kind) as PyInstaller's TOC entries
Entry = tuple[str, str, str]


@cache
def needed(path: str) -> frozenset[str]:
    """DT_NEEDED names of one ELF file (empty when readelf cannot read it)."""
    try:
        out = subprocess.run(["readelf", "-dW", path], capture_output=True, text=True, check=False).stdout
    except OSError:
        return frozenset()
    return frozenset({line.rsplit("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line})


def prune(kept: list[Entry], dropped: Iterable[Entry]) -> tuple[list[Entry], list[str]]:
    """``kept`` without the top-level libraries needed only by ``dropped`` (transitively)."""
    if not sys.platform.startswith("linux") or shutil.which("readelf") is None:
        return kept, []
    candidates: set[str] = set()
    for _dest, src, _kind in dropped:
        candidates |= needed(src)
    removed: list[str] = []
    while True:
        top = {e[0]: e for e in kept if "/" not in e[0] and e[0] in candidates}
        if not top:
            break
        wanted: set[str] = set()
        for dest, src, _kind in kept:
            if dest not in top:
                wanted |= needed(src)
        orphans = [name for name in top if name not in wanted]
        if not orphans:
            break
        for name in orphans:
            candidates |= needed(top[name][1])
        removed += orphans
        kept = [e for e in kept if e[0] not in orphans]
    return kept, sorted(removed)
