"""Shrink the ICU data library that Qt brings (libicudata.so: 32 MB) to the parts Qt can use.

Why: Qt Core calls ICU for four things only (the undefined ICU symbols of libQt6Core: case
mapping ``u_strToUpper/Lower``, collation ``ucol_*`` for QCollator, converters ``ucnv_*`` for
QStringConverter's non-Unicode codecs, and ``ucal_*`` for time-zone names); no other Qt library
or plugin in the bundle calls ICU.  The data library carries far more: break-iterator
dictionaries, transliterators, spell-out rules, and the display names of units, currencies,
languages and regions in every locale (about 60 % of it).  ICU documents this as "data
customization": the package is an archive of independent items, so dropping items is safe for
the services that do not read them.  What stays: the Unicode properties, normalization, every
collation, the locale, time-zone and calendar data, and the root/English time-zone names.
What goes beyond that: the codepage tables (``*.cnv``: 5 MB): the app hands Qt only Unicode
text (Qt 6 handles UTF-8/16/32 and Latin-1 itself), so a QStringConverter for a legacy codepage
would report itself invalid instead of converting.

The library holds the data as one exported symbol ``icudtNN_dat`` (an ICU "common data" archive:
header, table of contents, 16-byte aligned items); the filtered archive is assembled back into
a library of the same soname with the C compiler (``.incbin``).  Linux only.

    python3 packaging/icu_data.py dist/medeid        # replaces _internal/PySide6/Qt/lib/libicudata.so.*
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

#: item trees (``icudtNNl/<tree>/...``) that no Qt call reads
UNUSED_TREES = frozenset({"brkitr", "translit", "rbnf", "unit", "curr", "lang", "region"})
#: the time-zone display names stay for the root and English locales only (QTimeZone::displayName)
NAME_TREES = frozenset({"zone"})
NAME_TREE_KEEP = ("root.res", "res_index.res", "pool.res", "tzdbNames.res", "en.res", "en_")


def wanted(name: str) -> bool:
    """Whether the item ``name`` (as listed in the archive: ``icudt73l/coll/de.res``) stays."""
    parts = name.split("/")
    if len(parts) == 2:
        return not parts[1].endswith(".cnv")
    tree, leaf = parts[1], parts[-1]
    if tree in UNUSED_TREES:
        return False
    if tree in NAME_TREES:
        return leaf.startswith(NAME_TREE_KEEP)
    return True


def read_common(dat: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """(header, [(item name, item bytes)]) of an ICU common-data archive (little-endian 'CmnD')."""
    head = struct.unpack_from("<H", dat, 0)[0]
    if dat[2:4] != b"\xda\x27" or dat[12:16] != b"CmnD" or dat[4 + 4] != 0:
        raise ValueError("not a little-endian ICU common data archive")
    count = struct.unpack_from("<I", dat, head)[0]
    toc = [struct.unpack_from("<II", dat, head + 4 + 8 * i) for i in range(count)]
    ends = [off for _n, off in toc[1:]] + [len(dat) - head]
    items = []
    for (name_off, data_off), end in zip(toc, ends):
        name = dat[head + name_off:dat.index(b"\0", head + name_off)].decode("ascii")
        items.append((name, dat[head + data_off:head + end]))
    return dat[:head], items


def write_common(header: bytes, items: list[tuple[str, bytes]]) -> bytes:
    """An archive of ``items`` (names sorted as ICU's binary search expects; items 16-aligned)."""
    items = sorted(items, key=lambda it: it[0].encode("ascii"))
    names = b"".join(n.encode("ascii") + b"\0" for n, _d in items)
    toc_len = 4 + 8 * len(items)
    pos = toc_len + len(names)
    pos += -pos % 16
    toc, body, name_pos = [struct.pack("<I", len(items))], bytearray(), toc_len
    for name, data in items:
        toc.append(struct.pack("<II", name_pos, pos + len(body)))
        name_pos += len(name) + 1
        body += data + b"\0" * (-len(data) % 16)
    start = b"".join(toc) + names
    return header + start + b"\0" * (-len(start) % 16) + bytes(body)


def data_symbol(lib: Path) -> tuple[str, bytes]:
    """(symbol name, bytes) of the ``icudtNN_dat`` object that a libicudata exports (ELF64 LE)."""
    raw = lib.read_bytes()
    shoff = struct.unpack_from("<Q", raw, 0x28)[0]
    entsize, count = struct.unpack_from("<HH", raw, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", raw, shoff + i * entsize) for i in range(count)]
    for sec in sections:
        if sec[1] != 11:  # SHT_DYNSYM
            continue
        strtab = sections[sec[6]]
        for off in range(sec[4], sec[4] + sec[5], 24):
            name_off, _info, _other, shndx, value, size = struct.unpack_from("<IBBHQQ", raw, off)
            start = strtab[4] + name_off
            name = raw[start:raw.index(b"\0", start)].decode("ascii")
            if name.startswith("icudt") and name.endswith("_dat") and size:
                home = sections[shndx]
                file_off = home[4] + value - home[3]
                return name, raw[file_off:file_off + size]
    raise ValueError(f"{lib}: no icudtNN_dat symbol")


def build_library(symbol: str, dat: bytes, soname: str, out: Path) -> None:
    """A shared library exporting ``dat`` as ``symbol``, as ICU's own data library does."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("no C compiler (cc) to assemble the ICU data library")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "icudt.dat").write_bytes(dat)
        (Path(tmp) / "icudt.S").write_text(
            f'.section .rodata\n.globl {symbol}\n.type {symbol}, @object\n.balign 16\n{symbol}:\n'
            f'.incbin "icudt.dat"\n.size {symbol}, .-{symbol}\n.section .note.GNU-stack,"",@progbits\n')
        subprocess.run([cc, "-shared", "-nostdlib", "-Wl,-soname," + soname, "-Wl,-z,noexecstack", "-s",
                        "-o", str(out.resolve()), "icudt.S"], cwd=tmp, check=True)


def shrink(lib: Path, out: Path) -> tuple[int, int, int]:
    """Write the filtered library for ``lib`` to ``out``: (items kept, items dropped, bytes saved)."""
    symbol, dat = data_symbol(lib)
    header, items = read_common(dat)
    kept = [it for it in items if wanted(it[0])]
    build_library(symbol, write_common(header, kept), lib.name, out)
    return len(kept), len(items) - len(kept), lib.stat().st_size - out.stat().st_size


def main(argv: list[str]) -> int:
    if not sys.platform.startswith("linux"):
        return 0
    libs = sorted(Path(argv[1]).glob("_internal/PySide6/Qt/lib/libicudata.so.*"))
    for lib in libs:
        tmp = lib.with_name(lib.name + ".new")
        kept, dropped, saved = shrink(lib, tmp)
        tmp.replace(lib)
        print(f"icu_data: {lib.name}: kept {kept} items, left out {dropped}, {saved / 1e6:.1f} MB less")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
