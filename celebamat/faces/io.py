"""Reading face photos and masks robustly: EXIF orientation, grayscale, palette, RGBA, 16-bit, clear errors.

Size limits: a photo of more than :data:`LARGE_IMAGE_PIXELS` is read downscaled to that many pixels (JPEGs
decode directly at 1/2, 1/4 or 1/8 size), and one that would decode to more than :data:`MAX_IMAGE_PIXELS` is
refused from its header, without decoding (reason ``"image too large"``), so a decompression bomb costs nothing.
"""

from __future__ import annotations

import io
import math
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from celebamat.errors import CelebAMatError

#: File suffixes a folder source treats as photos (lower case).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")

#: Hard limit: an image that would decode to more pixels than this is refused from its header ("image too
#: large"). 150 MP holds a 12,000 x 12,000 scan and any camera photo (decoding that takes about 2.3 GB);
#: a 20,000 x 20,000 PNG (400 MP, a few hundred KB when it is one colour) is refused without being decoded.
#: JPEGs are decoded at reduced size first (below), so their limit is on the reduced size.
MAX_IMAGE_PIXELS = 150_000_000
#: Larger images are read downscaled to this many pixels (aspect kept, box filter; a JPEG decodes at the
#: smallest of 1/2, 1/4, 1/8 size that is still larger first). 40 MP is more than any face needs.
LARGE_IMAGE_PIXELS = 40_000_000


class ImageReadError(CelebAMatError):
    """An image that cannot be decoded. ``reason`` is ``"empty file"``, ``"unreadable file"`` or
    ``"image too large"`` (more than :data:`MAX_IMAGE_PIXELS`)."""

    def __init__(self, path: str | os.PathLike, reason: str, detail: str) -> None:
        self.path = str(path)
        self.reason = reason
        self.detail = detail
        super().__init__(f"{path}: {reason} ({detail})")


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Scale integer or float pixel data of any depth to uint8 (16-bit PNGs, 32-bit TIFFs)."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        hi = 1.0 if float(np.nanmax(arr)) <= 1.0 else 255.0
        return np.clip(np.nan_to_num(arr) / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
    hi = 65535.0 if int(arr.max(initial=0)) > 255 else 255.0
    return np.clip(arr.astype(np.float64) / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)


def read_size(width: int, height: int) -> tuple[int, int]:
    """The ``(width, height)`` an image of ``width`` x ``height`` is read at: itself up to
    :data:`LARGE_IMAGE_PIXELS`, above that downscaled to about that many pixels, aspect kept."""
    if width * height <= LARGE_IMAGE_PIXELS:
        return width, height
    f = math.sqrt(LARGE_IMAGE_PIXELS / (width * height))
    return max(1, int(width * f)), max(1, int(height * f))


def _too_large(p: Path, size: str, pixels: int) -> ImageReadError:
    return ImageReadError(p, "image too large", f"{size}{pixels / 1e6:.0f} MP; images above "
                          f"{MAX_IMAGE_PIXELS // 1_000_000} MP are refused without decoding, downscale it first")


def _open(path: str | os.PathLike, info: dict | None = None):
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ImageReadError(p, "unreadable file", f"cannot access: {exc.strerror or exc}") from exc
    if size == 0:
        raise ImageReadError(p, "empty file", "the file has 0 bytes")
    try:
        with warnings.catch_warnings():
            # Pillow warns above 89 MP; the limits above decide instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                width, height = im.size  # from the header: nothing is decoded yet
                target = read_size(width, height)
                if target != (width, height) and im.format == "JPEG":
                    im.draft(im.mode, target)  # decode at 1/2, 1/4 or 1/8 size, at least ``target``
                if im.size[0] * im.size[1] > MAX_IMAGE_PIXELS:
                    raise _too_large(p, f"{width} x {height} pixels, ", width * height)
                im.load()  # decode now, so truncated files fail here and not later
                verbatim = _verbatim_jpeg(im, (width, height))
                if im.size != target:
                    im = im.resize(target, Image.Resampling.BOX)
                im = ImageOps.exif_transpose(im)
    except Image.DecompressionBombError as exc:  # Pillow's own limit (179 MP), above ours: refused in open()
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise _too_large(p, "", int(found.group(1)) if found else 2 * (Image.MAX_IMAGE_PIXELS or 0)) from exc
    except UnidentifiedImageError as exc:
        raise ImageReadError(p, "unreadable file", "not an image format Pillow can read") from exc
    except MemoryError as exc:
        raise ImageReadError(p, "unreadable file", "not enough memory to decode it") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(p, "unreadable file", f"decoding failed: {exc}") from exc
    if info is not None:
        info["scale"] = target[0] / width
        if target != (width, height):
            info["downscaled_from"] = [width, height] if im.size == target else [height, width]
        info["verbatim"] = verbatim
    return im


#: Metadata that makes a JPEG more than its pixels (orientation, colour profile, personal data).
_JPEG_EXTRAS = ("exif", "xmp", "comment", "icc_profile")


def _plain_pixels(path: str | os.PathLike, gray: bool) -> tuple[np.ndarray, bool] | None:
    """The pixels of the commonest plain files, decoded by OpenCV or ``decode_png``, or ``None`` for any other file.

    Plain: without ``gray``, a JPEG whose bytes :func:`_verbatim_jpeg` would pass and that ends with its
    end-of-image marker (a truncated one is left to Pillow, which refuses it); with ``gray``, an 8-bit PNG without
    EXIF, of which the first band is returned (:func:`celebamat.utils.png.decode_png`, or OpenCV for a
    grayscale one that it leaves). Either below :data:`LARGE_IMAGE_PIXELS`. OpenCV decodes these to the same
    pixels as Pillow (both use libjpeg-turbo's exact integer decoder; PNG is lossless) in about two thirds of the
    time, and ``decode_png`` a mask in a fifth of OpenCV's, which a build pays on every face (docs/building.md).
    Returns ``(pixels, verbatim)``: ``(H, W, 3)`` RGB or ``(H, W)`` uint8, and whether the file's bytes can stand
    for them (:func:`_verbatim_jpeg`).
    """
    import cv2
    from PIL import Image

    from celebamat.utils.png import decode_png, png_size

    try:
        with open(path, "rb") as f:
            head = f.read(8)  # other formats are not read twice
            if head[:8 if gray else 3] != (b"\x89PNG\r\n\x1a\n" if gray else b"\xff\xd8\xff"):
                return None
            data = head + f.read()
    except OSError:
        return None  # Pillow's path names the error
    if gray:
        size = png_size(data)
        pixels = decode_png(data, band=0) if size and size[0] * size[1] <= LARGE_IMAGE_PIXELS else None
        if pixels is not None:
            return pixels, False
    if (b"eXIf" in data) if gray else (data[-2:] != b"\xff\xd9"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:  # the header only
                w, h = im.size
                plain = (im.mode == "L" and "exif" not in im.info) if gray else _verbatim_jpeg(im, im.size)
    except Exception:  # anything Pillow cannot parse goes the long way, which names it
        return None
    if not plain or w * h > LARGE_IMAGE_PIXELS:
        return None
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED if gray else cv2.IMREAD_COLOR)
    if arr is None or arr.dtype != np.uint8 or arr.shape != ((h, w) if gray else (h, w, 3)):
        return None
    return (arr, False) if gray else (cv2.cvtColor(arr, cv2.COLOR_BGR2RGB), True)


def _verbatim_jpeg(im: Any, target: tuple[int, int]) -> bool:
    """Whether the file's own bytes can stand for what :func:`read_image` returns: an RGB JPEG decoded at full
    size, upright as stored, carrying no EXIF, XMP, comment or colour profile (nothing personal rides along,
    and no viewer shows other colours than the decoded pixels)."""
    return (im.format == "JPEG" and im.mode == "RGB" and im.size == target
            and not any(k in im.info for k in _JPEG_EXTRAS))


def read_image(path: str | os.PathLike, background: tuple[int, int, int] = (255, 255, 255),
               info: dict | None = None) -> np.ndarray:
    """Read a photo as ``(H, W, 3)`` uint8 RGB, upright.

    Photos above :data:`LARGE_IMAGE_PIXELS` are returned downscaled; ``info``, when given, receives
    ``scale`` (returned pixels per file pixel), for a downscaled photo ``downscaled_from`` (its upright
    ``[width, height]``), and ``verbatim``: whether the file's bytes decode to exactly the returned pixels and
    carry nothing else (an RGB JPEG at full size without EXIF, XMP, comment or colour profile), so they can be
    stored as they are instead of compressing the pixels again.

    EXIF orientation is applied; grayscale and palette images become RGB; 16-bit and float images are
    scaled to 8 bits; transparent images (RGBA, LA, palette with transparency) are composited over
    ``background``.

    Raises:
        ImageReadError: with ``reason`` ``"empty file"`` (0 bytes), ``"unreadable file"`` (not an image,
            truncated, corrupt, out of memory) or ``"image too large"`` (above :data:`MAX_IMAGE_PIXELS`),
            naming the file.
    """
    plain = _plain_pixels(path, gray=False)
    if plain is not None:
        if info is not None:
            info.update(scale=1.0, verbatim=plain[1])
        return plain[0]
    im = _open(path, info)
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
        a = rgba[..., 3:4] / 255.0
        rgb = rgba[..., :3] * a + np.asarray(background, np.float32) * (1.0 - a)
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    if im.mode in ("RGB", "L", "P", "CMYK", "YCbCr", "LAB", "HSV", "1"):
        return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))
    # High bit depth modes ("I;16", "I", "F"): scale ourselves, Pillow's convert clips instead.
    arr = _to_uint8(np.asarray(im))
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    return np.ascontiguousarray(arr[..., :3])


def read_mask_u8(path: str | os.PathLike) -> np.ndarray:
    """Read a single-channel mask as ``(H, W)`` uint8 (255 = 1; 16-bit and float masks are scaled).

    Colour masks use their first channel; an alpha channel, if any, is ignored. EXIF orientation is applied
    so a mask stays registered with its photo, and a mask above :data:`LARGE_IMAGE_PIXELS` is downscaled to
    the same size as a photo of its size. Raises :class:`ImageReadError` like :func:`read_image`.
    """
    plain = _plain_pixels(path, gray=True)
    if plain is not None:
        return plain[0]
    im = _open(path)
    if im.mode in ("I;16", "I;16B", "I", "F"):
        return _to_uint8(np.asarray(im))
    if im.mode == "1":
        return np.asarray(im.convert("L"))
    if im.mode == "L":
        return np.asarray(im)
    if im.mode in ("RGB", "RGBA", "LA"):  # the first band as it is (no RGB copy of the whole mask first)
        return np.asarray(im.getchannel(0))
    return np.ascontiguousarray(np.asarray(im.convert("RGB"))[..., 0])


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """:func:`read_mask_u8` as ``(H, W)`` float32 in [0, 1]."""
    return read_mask_u8(path).astype(np.float32) / 255.0
