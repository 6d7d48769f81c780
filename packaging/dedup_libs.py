"""Keep one copy of a library that two wheels each vendored (``*.libs/``), where one serves both.

Why: auditwheel copies a wheel's external libraries into ``<pkg>.libs/`` under a hashed name, so
the bundle can hold the same library twice: OpenCV and numpy each bring their own GNU Fortran
runtime (libgfortran 8.4 + 2.8 MB, each with its libquadmath 2.1 + 0.3 MB) for their OpenBLAS.
A copy is replaced by a relative link to another copy only when that one defines every symbol,
with its version, that the copy's users take from it (``nm -D``, ``readelf -V``); the dynamic
loader then maps one file for both names.  Libraries that no binary needs any more afterwards
(the replaced copy's own libquadmath) are removed.  Linux only (binutils).

    python3 packaging/dedup_libs.py dist/medeid
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

_HASH = re.compile(r"(-[0-9a-f]{8})+(?=\.so)")
_ELF_MAGIC = b"\x7fELF"


def family(name: str) -> str:
    """``libgfortran-040039e1-0352e75f.so.5.0.0`` -> ``libgfortran.so.5`` (auditwheel's hashes out)."""
    base = _HASH.sub("", name)
    found = re.match(r".*?\.so(\.\d+)?", base)
    return found.group(0) if found else base


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout


def release(name: str) -> tuple[int, ...]:
    """The version after ``.so`` of a library's file name: ``libpng16-1d1ba958.so.16.58.0`` -> (16, 58, 0)."""
    return tuple(int(x) for x in re.findall(r"\d+", name.split(".so", 1)[1]))


def closure_size(lib: Path, by_name: dict[str, Path]) -> int:
    """Bytes of ``lib`` and of the vendored libraries it needs, transitively."""
    seen, todo = set(), [lib]
    while todo:
        cur = todo.pop()
        if cur.name in seen or cur.is_symlink():
            continue
        seen.add(cur.name)
        todo += [by_name[n] for n in needed(cur) if n in by_name]
    return sum(by_name[n].stat().st_size if n in by_name else lib.stat().st_size for n in seen)


def needed(path: Path) -> set[str]:
    """DT_NEEDED names of an ELF file."""
    return {line.rsplit("[", 1)[1].rstrip("]") for line in _run("readelf", "-dW", str(path)).splitlines()
            if "(NEEDED)" in line}


def defined(path: Path) -> set[str]:
    """Dynamic symbols ``path`` defines, as ``name@version`` (and bare ``name``)."""
    out: set[str] = set()
    for line in _run("nm", "-D", "--defined-only", "--with-symbol-versions", str(path)).splitlines():
        sym = line.split()[-1].replace("@@", "@")
        out |= {sym, sym.split("@")[0]}
    return out


def wanted_from(user: Path, lib: Path) -> set[str]:
    """Symbols ``user`` leaves undefined that ``lib`` defines: what it takes from ``lib``."""
    have = defined(lib)
    out = set()
    for line in _run("nm", "-D", "--undefined-only", "--with-symbol-versions", str(user)).splitlines():
        sym = line.split()[-1]
        if sym.split("@")[0] in have:
            out.add(sym if sym in have else sym.split("@")[0])
    return out


def elf_files(bundle: Path) -> list[Path]:
    files = []
    for root, _dirs, names in os.walk(bundle):
        for n in names:
            p = Path(root) / n
            if p.is_file() and not p.is_symlink() and (".so" in n or os.access(p, os.X_OK)):
                with open(p, "rb") as f:
                    if f.read(4) == _ELF_MAGIC:
                        files.append(p)
    return files


def dedup(bundle: Path) -> tuple[list[str], int]:
    """Link duplicate vendored libraries to one copy, drop the orphans: (what was done, bytes saved)."""
    files = elf_files(bundle)
    users: dict[str, list[Path]] = defaultdict(list)
    for f in files:
        for n in needed(f):
            users[n].append(f)
    groups: dict[str, list[Path]] = defaultdict(list)
    for f in files:
        if f.parent.name.endswith(".libs"):
            groups[family(f.name)].append(f)
    by_name = {f.name: f for f in files if f.parent.name.endswith(".libs")}
    done, saved = [], 0
    for copies in groups.values():
        # keep the copy whose own vendored dependencies weigh least; never trade for an older release
        for dup in sorted(copies, key=lambda p: -closure_size(p, by_name)):
            keep = next((c for c in sorted(copies, key=lambda p: closure_size(p, by_name))
                         if c != dup and not c.is_symlink() and release(c.name) >= release(dup.name)
                         and all(wanted_from(u, dup) <= defined(c) for u in users[dup.name])), None)
            if keep is None or closure_size(dup, by_name) <= closure_size(keep, by_name):
                continue
            saved += dup.stat().st_size
            dup.unlink()
            dup.symlink_to(os.path.relpath(keep, dup.parent))
            done.append(f"{dup.relative_to(bundle)} -> {keep.name}")
            done += _link_dependencies(keep, dup.parent, by_name)
    removed, freed = drop_orphans(bundle)
    return done + removed, saved + freed


def _link_dependencies(keep: Path, where: Path, by_name: dict[str, Path]) -> list[str]:
    """Links in ``where`` to the vendored libraries ``keep`` needs, transitively.

    The loader expands ``$ORIGIN`` to the folder of the name it opened (the link's), not of the
    link's target, so ``keep``'s own vendored dependencies must be findable from there too.
    """
    made, todo = [], [n for n in needed(keep) if n in by_name]
    while todo:
        name = todo.pop()
        link = where / name
        if link.exists() or link.is_symlink():
            continue
        link.symlink_to(os.path.relpath(by_name[name].resolve(), where))
        made.append(f"{link.relative_to(where.parent)} -> {by_name[name].name} (for $ORIGIN)")
        todo += [n for n in needed(by_name[name]) if n in by_name]
    return made


def drop_orphans(bundle: Path) -> tuple[list[str], int]:
    """Remove ``*.libs/`` libraries that no remaining binary lists as NEEDED (under any link's name)."""
    removed, freed = [], 0
    while True:
        files = elf_files(bundle)
        wanted = set().union(*(needed(f) for f in files))
        for link in bundle.glob("*.libs/*"):
            if link.is_symlink() and link.name in wanted:
                wanted.add(link.resolve().name)
        orphans = [f for f in files if f.parent.name.endswith(".libs") and f.name not in wanted]
        if not orphans:
            return removed, freed
        for f in orphans:
            freed += f.stat().st_size
            removed.append(f"{f.relative_to(bundle)} removed (no longer needed)")
            f.unlink()


def main(argv: list[str]) -> int:
    if not sys.platform.startswith("linux"):
        return 0
    done, saved = dedup(Path(argv[1]) / "_internal")
    for line in done:
        print("dedup_libs:", line)
    print(f"dedup_libs: {saved / 1e6:.1f} MB less")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
