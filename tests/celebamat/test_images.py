"""PNG and JPEG encoding of rows (celebamat.utils.images): mattes through zlib-ng, colour through OpenCV."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from celebamat.utils.images import decode_image, encode_png, encode_png_matte


def _mattes() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    soft = cv2.GaussianBlur(np.pad(np.full((40, 50), 255, np.uint8), ((12, 9), (7, 20))), (0, 0), 3.0)
    return [
        soft,  # flat with soft edges, like a real matte
        rng.integers(0, 256, (33, 17), dtype=np.uint8),  # every byte value, differences that wrap around 256
        np.zeros((1, 1), np.uint8),
        np.full((1, 300), 255, np.uint8),
        np.full((300, 1), 7, np.uint8),
        np.asfortranarray(rng.integers(0, 256, (20, 30), dtype=np.uint8)),  # not C-contiguous
        rng.integers(0, 256, (40, 60), dtype=np.uint8)[::2, 1::3],  # a strided view
    ]


@pytest.mark.parametrize("index", range(7))
def test_a_png_matte_decodes_to_its_pixels_in_pillow_and_opencv(index):
    matte = _mattes()[index]
    data = encode_png_matte(matte)
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG" and im.mode == "L" and im.size == (matte.shape[1], matte.shape[0])
        np.testing.assert_array_equal(np.asarray(im), matte)
    np.testing.assert_array_equal(decode_image(data, gray=True), matte)
    assert encode_png(matte) == data  # the row encoder's route for (H, W) images


def test_a_png_matte_is_well_formed_up_filtered_and_deterministic():
    matte = _mattes()[1]
    data = encode_png_matte(matte)
    assert data == encode_png_matte(matte.copy())
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        pos += 12 + length
    assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"] and chunks[2][1] == b""
    assert struct.unpack(">IIBBBBB", chunks[0][1]) == (17, 33, 8, 0, 0, 0, 0)
    raw = np.frombuffer(zlib.decompress(chunks[1][1]), np.uint8).reshape(33, 18)
    assert (raw[:, 0] == 2).all()  # the Up filter on every row
    np.testing.assert_array_equal(np.cumsum(raw[:, 1:], axis=0, dtype=np.uint8), matte)


def test_a_png_matte_is_as_small_as_libpngs_run_length_png_of_it():
    disc = cv2.circle(np.zeros((512, 512), np.uint8), (250, 260), 180, 255, -1)
    soft = cv2.GaussianBlur(disc, (0, 0), 3.0)
    ok, libpng = cv2.imencode(".png", soft, [cv2.IMWRITE_PNG_COMPRESSION, 6, cv2.IMWRITE_PNG_STRATEGY,
                                             cv2.IMWRITE_PNG_STRATEGY_RLE, cv2.IMWRITE_PNG_FILTER,
                                             cv2.IMWRITE_PNG_FILTER_UP])
    assert ok and len(encode_png_matte(soft)) < 1.02 * len(libpng) and len(libpng) < soft.size / 10


@pytest.mark.parametrize("bad", [np.zeros((0, 5), np.uint8), np.zeros((4, 4), np.float32),
                                 np.zeros((4, 4, 1), np.uint8), np.zeros(4, np.uint8)])
def test_a_png_matte_must_be_non_empty_2d_uint8(bad):
    with pytest.raises(ValueError, match="non-empty"):
        encode_png_matte(bad)


def test_colour_pngs_keep_opencv_and_their_pixels():
    rgb = np.random.default_rng(1).integers(0, 256, (21, 34, 3), dtype=np.uint8)
    np.testing.assert_array_equal(decode_image(encode_png(rgb)), rgb)
