"""celebamat.utils.png.decode_png: pixels equal to libpng's for every filter and colour type it reads, ``None`` for
every file it leaves to libpng (so callers fall back), never a wrong image."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from celebamat.utils.png import MAX_PAETH_CHANGES, PNG_SIGNATURE, decode_png, encode_png_matte, png_size

CHANNELS = {0: 1, 4: 2, 2: 3, 6: 4}  # PNG colour type -> channels


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _filter_row(kind: int, row: np.ndarray, above: np.ndarray, c: int) -> np.ndarray:
    """PNG's filter ``kind`` of one row (as the specification defines it, on the unfiltered bytes)."""
    a = np.concatenate([np.zeros(c, np.int16), row[:-c].astype(np.int16)])
    b = above.astype(np.int16)
    d = np.concatenate([np.zeros(c, np.int16), b[:-c]])
    if kind == 0:
        pred = np.zeros_like(b)
    elif kind == 1:
        pred = a
    elif kind == 2:
        pred = b
    elif kind == 3:
        pred = (a + b) // 2
    else:
        p = a + b - d
        pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - d)
        pred = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, d))
    return ((row.astype(np.int16) - pred) % 256).astype(np.uint8)


def _png(pixels: np.ndarray, kinds: list[int], extra: bytes = b"", ihdr: bytes | None = None,
         stream: bytes | None = None) -> bytes:
    """A PNG of uint8 ``pixels`` ((H, W) grey or (H, W, C)) whose row y uses filter ``kinds[y]``."""
    h, w = pixels.shape[:2]
    c = 1 if pixels.ndim == 2 else pixels.shape[2]
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    flat = pixels.reshape(h, w * c)
    rows, above = [], np.zeros(w * c, np.uint8)
    for y in range(h):
        rows.append(bytes([kinds[y]]) + _filter_row(kinds[y], flat[y], above, c).tobytes())
        above = flat[y]
    header = ihdr if ihdr is not None else struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    idat = stream if stream is not None else zlib.compress(b"".join(rows), 6)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + extra + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _blobs(h: int, w: int, c: int, seed: int) -> np.ndarray:
    """A mask-like image: a few flat shapes with soft and hard edges."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, c), np.uint8)
    for _ in range(4):
        colour = tuple(int(v) for v in rng.integers(0, 256, c))
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(img, centre, int(rng.integers(3, max(4, w // 2))), colour, -1)
    img[: h // 3] = cv2.GaussianBlur(img[: h // 3], (5, 5), 0).reshape(img[: h // 3].shape)
    return img[..., 0] if c == 1 else img


def _libpng(data: bytes) -> np.ndarray:
    """What libpng decodes (through Pillow, which keeps grey and alpha as two bands; OpenCV makes them four)."""
    import io

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im)


@pytest.mark.parametrize("c", [1, 2, 3, 4])
@pytest.mark.parametrize("pattern", ["none", "sub", "up", "paeth", "mixed"])
@pytest.mark.parametrize("image", ["blobs", "noise"])
def test_decode_png_gives_libpngs_pixels_for_every_filter_it_reads(c, pattern, image):
    h, w = 37, 29
    rng = np.random.default_rng([c, len(pattern)])
    pixels = _blobs(h, w, c, seed=c) if image == "blobs" else rng.integers(0, 256, (h, w, c), np.uint8).squeeze()
    kinds = {"none": [0] * h, "sub": [1] * h, "up": [2] * h, "paeth": [4] * h,
             "mixed": rng.choice([0, 1, 2, 4], h).tolist()}[pattern]
    data = _png(pixels, kinds)
    np.testing.assert_array_equal(_libpng(data), pixels)  # the file is what it should be
    got = decode_png(data)
    assert got is not None and got.dtype == np.uint8 and got.shape == pixels.shape
    np.testing.assert_array_equal(got, pixels)
    for k in range(c):  # one band alone: the same bytes as that band of the whole
        np.testing.assert_array_equal(decode_png(data, band=k), pixels if c == 1 else pixels[..., k])
    with pytest.raises(ValueError, match=f"band {c} of a PNG of {c} band"):
        decode_png(data, band=c)


def test_decode_png_reads_what_opencv_pillow_and_the_matte_writer_write():
    import io

    for c in (1, 3, 4):
        pixels = _blobs(64, 80, c, seed=7)
        ok, buf = cv2.imencode(".png", pixels)  # OpenCV: the Sub filter
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, "PNG")  # Pillow: libpng's adaptive filters, Paeth rows among them
        assert ok and 4 in _filters(out.getvalue())
        for data in (buf.tobytes(), out.getvalue()):
            got = decode_png(data)
            assert got is not None
            np.testing.assert_array_equal(got, _libpng(data))
    mask = _blobs(64, 80, 1, seed=3)
    np.testing.assert_array_equal(decode_png(encode_png_matte(mask)), mask)


def test_a_paeth_row_under_many_changes_and_an_average_row_are_left_to_libpng():
    noise = np.random.default_rng(0).integers(0, 256, (8, 2 * MAX_PAETH_CHANGES), np.uint8)
    many = _png(noise, [0] + [4] * 7)
    assert decode_png(many) is None
    np.testing.assert_array_equal(_libpng(many), noise)
    blobs = _blobs(8, 16, 3, seed=1)
    average = _png(blobs, [0, 3] + [2] * 6)
    assert decode_png(average) is None
    np.testing.assert_array_equal(_libpng(average), blobs)


def _filters(data: bytes) -> set[int]:
    """The row filters a one-IDAT PNG uses."""
    w, h = png_size(data)
    c = CHANNELS[data[25]]
    (n,) = struct.unpack_from(">I", data, 33)
    raw = np.frombuffer(zlib.decompress(data[41 : 41 + n]), np.uint8).reshape(h, 1 + w * c)
    return set(raw[:, 0].tolist())


def _ihdr(w=4, h=3, depth=8, colour=0, interlace=0) -> bytes:
    return struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, interlace)


@pytest.mark.parametrize("case", [
    "signature", "16-bit", "palette", "interlaced", "exif", "exif-text", "transparency", "bad-crc", "cut-short",
    "no-iend", "critical-unknown", "stream-short", "stream-long", "stream-damaged", "stream-trailing", "filter-5",
    "bomb", "empty",
])
def test_decode_png_leaves_anything_else_to_libpng(case):
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    rows = b"".join(b"\0" + r.tobytes() for r in pixels)
    good = _png(pixels, [0, 0, 0])
    assert np.array_equal(decode_png(good), pixels)  # the file each case spoils is read
    data = {
        "signature": lambda: b"\x89PNG\r\n\x1a\0" + good[8:],
        "16-bit": lambda: _png(pixels, [0] * 3, ihdr=_ihdr(depth=16)),
        "palette": lambda: _png(pixels, [0] * 3, ihdr=_ihdr(colour=3), extra=_chunk(b"PLTE", bytes(range(36)))),
        "interlaced": lambda: _png(pixels, [0] * 3, ihdr=_ihdr(interlace=1)),
        "exif": lambda: _png(pixels, [0] * 3, extra=_chunk(b"eXIf", b"MM\0*\0\0\0\x08\0\0")),
        "exif-text": lambda: _png(pixels, [0] * 3,
                                  extra=_chunk(b"zTXt", b"Raw profile type exif\0\0" + zlib.compress(b"x"))),
        "transparency": lambda: _png(pixels, [0] * 3, extra=_chunk(b"tRNS", b"\0\0")),
        "bad-crc": lambda: good[:29] + bytes([good[29] ^ 1]) + good[30:],  # the header's CRC, not its data
        "cut-short": lambda: good[:-15],
        "no-iend": lambda: good[:-12],
        "critical-unknown": lambda: _png(pixels, [0] * 3, extra=_chunk(b"ABCD", b"")),
        "stream-short": lambda: _png(pixels, [0] * 3, stream=zlib.compress(rows[:-1])),
        "stream-long": lambda: _png(pixels, [0] * 3, stream=zlib.compress(rows + b"\0")),
        "stream-damaged": lambda: _png(pixels, [0] * 3, stream=zlib.compress(rows)[:-1] + b"\0"),
        "stream-trailing": lambda: _png(pixels, [0] * 3, stream=zlib.compress(rows) + b"junk"),
        "filter-5": lambda: _png(pixels, [0] * 3, stream=zlib.compress(b"\5" + rows[1:])),
        "bomb": lambda: _png(pixels, [0] * 3, stream=zlib.compress(b"\0" * 50_000_000)),
        "empty": lambda: b"",
    }[case]()
    assert decode_png(data) is None


def test_harmless_chunks_are_read_past():
    pixels = _blobs(9, 11, 3, seed=2)
    extra = _chunk(b"gAMA", struct.pack(">I", 45455)) + _chunk(b"tEXt", b"Comment\0made here") + _chunk(
        b"pHYs", struct.pack(">IIB", 2835, 2835, 1))
    np.testing.assert_array_equal(decode_png(_png(pixels, [4] * 9, extra=extra)), pixels)


def test_png_size_reads_the_header():
    assert png_size(encode_png_matte(np.zeros((5, 7), np.uint8))) == (7, 5)
    assert png_size(b"\xff\xd8\xff\xe0" + b"\0" * 30) is None and png_size(b"") is None
