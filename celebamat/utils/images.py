"""Image encoding helpers (deterministic: the same pixels always give the same bytes)."""

from __future__ import annotations

import cv2
import numpy as np

from celebamat.utils.png import PNG_MATTE_ZLIB, encode_png_matte

__all__ = ["PNG_MATTE_ZLIB", "PNG_RGB", "decode_image", "encode_jpeg", "encode_png", "encode_png_matte"]

#: OpenCV (libpng) settings of colour images: level 6, libpng's adaptive filters (photos gain from them).
PNG_RGB = (cv2.IMWRITE_PNG_COMPRESSION, 6)


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
