"""PNG bytes in and out for the images a build moves most: 8-bit mattes and part masks.

The writer (:func:`encode_png_matte`) stores a matte with the Up filter and zlib-ng's run-length deflate. The reader
(:func:`decode_png`) inflates with zlib-ng and undoes the row filters in NumPy: on CelebAMask-HQ's part masks
(flat 512 px RGB PNGs, twelve a face) almost all of libpng's time is zlib's inflate, which zlib-ng does many
times faster on such data (docs/building.md, *Reading the part masks*). It reads the plain files only and answers
``None`` for the rest, which callers hand to OpenCV or Pillow (they also name what is wrong with a damaged file).
"""

from __future__ import annotations

import struct

import numpy as np
from zlib_ng import zlib_ng

#: zlib-ng settings of 8-bit mattes (``(H, W)`` images): level, window bits, memory level and strategy (run-length
#: deflate), over rows that all use PNG's Up filter. Chosen by measurement (``docs/building.md``, *Speed*): mattes
#: are flat with soft edges, so libpng's adaptive filters gain little; zlib-ng's run-length deflate is four times
#: as fast as zlib's, and memory level 6 (smaller blocks than libpng's 8) makes mattes 3 % smaller (sample format 11).
PNG_MATTE_ZLIB = (6, 15, 6, zlib_ng.Z_RLE)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_NONE, _SUB, _UP, _AVERAGE, _PAETH = range(5)  # PNG's row filters

#: Channels of each 8-bit colour type :func:`decode_png` reads: grey, RGB, grey and alpha, RGBA (not palettes).
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}

#: A Paeth row whose row above changes at more pixels than this is left to libpng: each change costs a step in
#: Python (a mask's row changes at a handful of pixels, a photo's at most of them).
MAX_PAETH_CHANGES = 64


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data and the CRC-32 of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib_ng.crc32(data, zlib_ng.crc32(kind)))


def encode_png_matte(matte: np.ndarray) -> bytes:
    """PNG bytes (8-bit greyscale, one IDAT chunk) of an ``(H, W)`` uint8 matte, H and W >= 1.

    Every row is stored with PNG's Up filter (the byte-wise difference from the row above, modulo 256; the first
    row's predictor is zero) and the filtered rows are deflated by zlib-ng with :data:`PNG_MATTE_ZLIB`.
    """
    if matte.ndim != 2 or matte.dtype != np.uint8 or 0 in matte.shape:
        raise ValueError(f"a PNG matte is a non-empty (H, W) uint8 array, got {matte.dtype} {matte.shape}")
    h, w = matte.shape
    rows = np.empty((h, w + 1), dtype=np.uint8)
    rows[:, 0] = _UP
    rows[0, 1:] = matte[0]
    np.subtract(matte[1:], matte[:-1], out=rows[1:, 1:])  # uint8: wraps modulo 256, as the filter defines
    level, wbits, mem_level, strategy = PNG_MATTE_ZLIB
    z = zlib_ng.compressobj(level, zlib_ng.DEFLATED, wbits, mem_level, strategy)
    idat = z.compress(rows) + z.flush()
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)  # 8 bits, greyscale, deflate, adaptive, no interlace
    return PNG_SIGNATURE + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def png_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from a PNG's header, or ``None`` when ``data`` does not start like a PNG."""
    if len(data) < 24 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        return None
    return struct.unpack_from(">II", data, 16)


def _chunks(data: bytes) -> tuple[bytes, list[bytes]] | None:
    """``(IHDR data, IDAT data)`` of a PNG whose every chunk is whole and checks out, up to IEND; ``None`` for
    anything else, and for a file whose pixels a chunk may change (EXIF orientation, a transparent colour) or
    that needs a chunk this reader does not know."""
    if data[:8] != PNG_SIGNATURE:
        return None
    view, pos, end = memoryview(data), 8, len(data)
    header, idat = None, []
    while pos + 12 <= end:
        (length,) = struct.unpack_from(">I", data, pos)
        kind = bytes(view[pos + 4 : pos + 8])
        stop = pos + 8 + length
        if stop + 4 > end:
            return None  # cut short
        body = view[pos + 8 : stop]
        (crc,) = struct.unpack_from(">I", data, stop)
        if zlib_ng.crc32(body, zlib_ng.crc32(kind)) != crc:
            return None
        if kind == b"IHDR" and header is None and pos == 8:
            header = bytes(body)
        elif kind == b"IDAT" and header is not None:
            idat.append(body)
        elif kind == b"IEND":
            return (header, idat) if header is not None and idat else None
        elif kind in (b"eXIf", b"tRNS") or (kind[0] & 0x20) == 0 and kind != b"PLTE":
            return None  # orientation, transparency, or a critical chunk not known here
        elif kind in (b"tEXt", b"zTXt", b"iTXt") and bytes(body[:21]).lower() == b"raw profile type exif":
            return None  # EXIF (orientation) the way ImageMagick stores it, which Pillow reads too
        pos = stop + 4
    return None  # no IEND: cut short


def decode_png(data: bytes, band: int | None = None) -> np.ndarray | None:
    """The pixels of a plain PNG, or ``None`` for a file this reader leaves to libpng.

    Plain: 8-bit grey, grey and alpha, RGB or RGBA, not interlaced, every chunk whole with a matching CRC-32, a
    zlib stream that checks out and holds exactly the image's rows, every row filter None, Sub, Up or Paeth (a
    Paeth row with at most :data:`MAX_PAETH_CHANGES` changes along the row above), and no chunk that changes the
    pixels a reader returns (``eXIf``, EXIF in a text chunk, ``tRNS``).

    Args:
        data: the file's bytes.
        band: only this band (0 = grey or red), ``(H, W)``: PNG's filters work band by band, so the others are
            never reconstructed (a mask's first band costs a third of an RGB mask).

    Returns:
        ``(H, W)`` uint8 for grey (or ``band``), ``(H, W, C)`` uint8 in the file's channel order (R, G, B[, A] or
        grey, alpha) for the others: the pixels libpng and Pillow decode, or ``None``.

    Raises:
        ValueError: ``band`` is not a band of the file.
    """
    parts = _chunks(data)
    if parts is None:
        return None
    header, idat = parts
    if len(header) != 13:
        return None
    w, h, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", header)
    c = _CHANNELS.get(colour)
    if c is None or depth != 8 or compression or filtering or interlace or not w or not h:
        return None
    stride = w * c
    expected = h * (stride + 1)
    z = zlib_ng.decompressobj()
    try:
        raw = z.decompress(b"".join(idat), expected + 1)  # never more than the rows hold: no inflation bomb
    except zlib_ng.error:
        return None
    if len(raw) != expected or not z.eof or z.unused_data or z.unconsumed_tail:
        return None
    rows = np.frombuffer(raw, np.uint8).reshape(h, stride + 1)
    filtered = rows[:, 1:]
    if band is not None:
        if not 0 <= band < c:
            raise ValueError(f"band {band} of a PNG of {c} band(s)")
        filtered, c = filtered[:, band::c], 1  # a byte's predictors are bytes of its own band
    pixels = _unfilter(rows[:, 0], filtered, c)
    if pixels is None:
        return None
    return pixels.reshape(h, w) if c == 1 else pixels.reshape(h, w, c)


def _unfilter(kinds: np.ndarray, filtered: np.ndarray, c: int) -> np.ndarray | None:
    """Undo PNG's row filters: ``kinds`` ``(H,)``, ``filtered`` ``(H, W * c)`` uint8; ``None`` for an Average row,
    an unknown filter or a Paeth row with too many changes. Runs of rows with one filter are undone together."""
    if kinds.max(initial=0) > _PAETH or (kinds == _AVERAGE).any():
        return None
    h, stride = filtered.shape
    out = filtered.copy()  # a row filtered with None is its pixels; the others are undone in place
    cuts = (np.flatnonzero(kinds[1:] != kinds[:-1]) + 1).tolist()
    for s, e in zip([0, *cuts], [*cuts, h]):
        kind, run = int(kinds[s]), out[s:e]
        if kind == _SUB:  # each byte plus the reconstructed one c bytes to its left: a sum along the row
            pixels = run.reshape(e - s, -1, c)
            np.cumsum(pixels, axis=1, dtype=np.uint8, out=pixels)
        elif kind == _UP:  # each byte plus the one above: a sum down the run, from the row before it
            np.cumsum(run, axis=0, dtype=np.uint8, out=run)
            if s:
                run += out[s - 1]
        elif kind == _PAETH:
            for y in range(s, e):
                above = out[y - 1] if y else np.zeros(stride, np.uint8)
                if not _unpaeth(filtered[y], above, c, out[y]):
                    return None
    return out


def _unpaeth(filtered: np.ndarray, above: np.ndarray, c: int, out: np.ndarray) -> bool:
    """Undo the Paeth filter of one row into ``out`` (``(W * c,)`` uint8 arrays); ``False`` when the row above
    changes at more than :data:`MAX_PAETH_CHANGES` pixels.

    Paeth predicts a byte from its left (a), upper (b) and upper-left (c) neighbours. Where b equals c the
    prediction is a, so the row is a running sum there, as with Sub; only where the row above changes (b != c)
    does the prediction need the reconstructed left byte. So the row is one running sum per channel with an
    offset that changes at those pixels, and only they are visited in Python.
    """
    f = filtered.reshape(-1, c)
    b = above.reshape(-1, c)
    upper_left = np.empty_like(b)
    upper_left[0] = 0
    upper_left[1:] = b[:-1]
    changes = np.flatnonzero((b != upper_left).any(axis=1))
    total = np.cumsum(f, axis=0, dtype=np.uint8)
    if not changes.size:
        out[:] = total.reshape(-1)
        return True
    if changes.size > MAX_PAETH_CHANGES:
        return False
    xs = changes.tolist()
    before = total[np.maximum(changes - 1, 0)].tolist()
    bs, cs, fs, ts = b[changes].tolist(), upper_left[changes].tolist(), f[changes].tolist(), total[changes].tolist()
    offsets, offset = [[0] * c], [0] * c  # the row is total + offset (modulo 256), one offset per stretch
    for i, x in enumerate(xs):
        new = []
        for k in range(c):
            left = (before[i][k] + offset[k]) & 255 if x else 0
            up, diag = bs[i][k], cs[i][k]
            p = left + up - diag
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - diag)
            pred = left if pa <= pb and pa <= pc else up if pb <= pc else diag
            new.append((fs[i][k] + pred - ts[i][k]) & 255)
        offsets.append(new)
        offset = new
    lengths = np.diff(np.concatenate(([0], changes, [len(f)])))
    np.add(total, np.repeat(np.array(offsets, np.uint8), lengths, axis=0), out=out.reshape(-1, c))
    return True
