"""Reading face photos and masks robustly: EXIF orientation, grayscale, palette, RGBA, 16-bit, clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from celebamat.errors import CelebAMatError

#: File suffixes a folder source treats as photos (lower case).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


class ImageReadError(CelebAMatError):
    """An image that cannot be decoded. ``reason`` is ``"empty file"`` or ``"unreadable file"``."""

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


def _open(path: str | os.PathLike):
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ImageReadError(p, "unreadable file", f"cannot access: {exc.strerror or exc}") from exc
    if size == 0:
        raise ImageReadError(p, "empty file", "the file has 0 bytes")
    try:
        with Image.open(p) as im:
            im.load()  # decode now, so truncated files fail here and not later
            im = ImageOps.exif_transpose(im)
    except UnidentifiedImageError as exc:
        raise ImageReadError(p, "unreadable file", "not an image format Pillow can read") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(p, "unreadable file", f"decoding failed: {exc}") from exc
    return im


def read_image(path: str | os.PathLike, background: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """Read a photo as ``(H, W, 3)`` uint8 RGB, upright.

    EXIF orientation is applied; grayscale and palette images become RGB; 16-bit and float images are
    scaled to 8 bits; transparent images (RGBA, LA, palette with transparency) are composited over
    ``background``.

    Raises:
        ImageReadError: with ``reason`` ``"empty file"`` (0 bytes) or ``"unreadable file"`` (not an image,
            truncated, corrupt), naming the file.
    """
    im = _open(path)
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
    so a mask stays registered with its photo. Raises :class:`ImageReadError` like :func:`read_image`.
    """
    im = _open(path)
    if im.mode in ("I;16", "I;16B", "I", "F"):
        return _to_uint8(np.asarray(im))
    if im.mode == "1":
        return np.asarray(im.convert("L"))
    if im.mode == "L":
        return np.asarray(im)
    return np.ascontiguousarray(np.asarray(im.convert("RGB"))[..., 0])


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """:func:`read_mask_u8` as ``(H, W)`` float32 in [0, 1]."""
    return read_mask_u8(path).astype(np.float32) / 255.0
