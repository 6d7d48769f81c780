"""A small PNG encoder (zlib + struct) for the ``--format png`` data-set export.

Why our own: PNG for 8/16-bit grey and 8-bit RGB is a few dozen lines, and the export must not
depend on Pillow or matplotlib being installed. Output is deterministic (fixed compression level,
no timestamps or text chunks), so reruns give identical bytes.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def encode_png(img: np.ndarray, *, level: int = 6) -> bytes:
    """Encode a (H, W) uint8/uint16 or (H, W, 3) uint8 array as PNG bytes."""
    a = np.asarray(img)
    if a.ndim == 2:
        color_type = 0
        channels = 1
    elif a.ndim == 3 and a.shape[2] == 3:
        color_type = 2
        channels = 3
    else:
        raise ValueError(f"cannot encode an array of shape {a.shape} as PNG")
    if a.dtype == np.uint8:
        depth = 8
    elif a.dtype == np.uint16:
        if channels != 1:
            raise ValueError("16-bit PNG is supported for grey images only")
        depth = 16
        a = a.astype(">u2")
    else:
        raise ValueError(f"PNG needs uint8 or uint16, got {a.dtype}")
    h, w = a.shape[:2]
    rows = np.ascontiguousarray(a).reshape(h, -1).view(np.uint8)
    raw = np.empty((h, rows.shape[1] + 1), dtype=np.uint8)
    raw[:, 0] = 0  # filter type None for every scanline
    raw[:, 1:] = rows
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
        + _chunk(b"IEND", b"")
    )


def decode_png(data: bytes) -> np.ndarray:
    """Decode what ``encode_png`` writes (filter 0 only); used by tests and the audit."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos = 8
    idat = b""
    w = h = depth = ctype = 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        tag = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + n]
        pos += 12 + n
        if tag == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif tag == b"IDAT":
            idat += body
    ch = 3 if ctype == 2 else 1
    bpp = ch * depth // 8
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, w * bpp + 1)
    if np.any(raw[:, 0] != 0):
        raise ValueError("only filter type 0 is supported")
    px = raw[:, 1:].copy()
    if depth == 16:
        return px.view(">u2").astype(np.uint16).reshape(h, w)
    return px.reshape(h, w, 3) if ch == 3 else px.reshape(h, w)
