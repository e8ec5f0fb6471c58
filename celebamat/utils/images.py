"""Image encoding helpers (deterministic: the same pixels always give the same bytes)."""

from __future__ import annotations

import struct

import cv2
import numpy as np
from zlib_ng import zlib_ng


#: zlib-ng settings of 8-bit mattes (``(H, W)`` images): level, window bits, memory level and strategy (run-length
#: deflate), over rows that all use PNG's Up filter. Chosen by measurement (``docs/building.md``, *Speed*): mattes
#: are flat with soft edges, so libpng's adaptive filters gain little; zlib-ng's run-length deflate is four times
#: as fast as zlib's, and memory level 6 (smaller blocks than libpng's 8) makes mattes 3 % smaller (sample format 11).
PNG_MATTE_ZLIB = (6, 15, 6, zlib_ng.Z_RLE)
#: OpenCV (libpng) settings of colour images: level 6, libpng's adaptive filters (photos gain from them).
PNG_RGB = (cv2.IMWRITE_PNG_COMPRESSION, 6)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_FILTER_UP = 2


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
    rows[:, 0] = _PNG_FILTER_UP
    rows[0, 1:] = matte[0]
    np.subtract(matte[1:], matte[:-1], out=rows[1:, 1:])  # uint8: wraps modulo 256, as the filter defines
    level, wbits, mem_level, strategy = PNG_MATTE_ZLIB
    z = zlib_ng.compressobj(level, zlib_ng.DEFLATED, wbits, mem_level, strategy)
    idat = z.compress(rows) + z.flush()
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)  # 8 bits, greyscale, deflate, adaptive, no interlace
    return _PNG_SIGNATURE + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an ``(H, W)`` uint8 matte (:func:`encode_png_matte`) or an ``(H, W, 3)`` uint8 RGB image
    (OpenCV, :data:`PNG_RGB`)."""
    if image.ndim == 2:
        return encode_png_matte(image)
    # cvtColor: a NumPy flip copies slowly
    ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), list(PNG_RGB))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def encode_jpeg(image: np.ndarray, quality: int = 95) -> bytes:
    """JPEG bytes (4:2:0, baseline) of an ``(H, W, 3)`` uint8 RGB image."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def decode_image(data: bytes, gray: bool = False) -> np.ndarray:
    """Decode encoded image bytes to uint8 RGB ``(H, W, 3)`` or, with ``gray``, ``(H, W)``."""
    flag = cv2.IMREAD_UNCHANGED if gray else cv2.IMREAD_COLOR
    arr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flag)
    if arr is None:
        raise ValueError("undecodable image bytes")
    if gray:
        if arr.ndim != 2:
            raise ValueError(f"expected a single-channel image, got shape {arr.shape}")
        return arr
    return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
