"""Contact sheets: tiles in a grid with captions (used by previews and the dataset card)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np


def _wrap(text: str, width: int, scale: float) -> list[str]:
    """Greedy word wrap (on spaces) of ``text`` into lines at most ``width`` pixels wide."""
    lines: list[str] = []
    for word in text.split(" "):
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and cv2.getTextSize(trial, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] <= width:
            lines[-1] = trial
        else:
            lines.append(word)
    return lines


def caption(tile: np.ndarray, text: str, scale: float = 0.4) -> np.ndarray:
    """Write ``text`` (wrapped to the tile's width) on a dark band at the top of an ``(H, W, 3)`` uint8 RGB
    tile; returns a copy."""
    out = tile.copy()
    if not text:
        return out
    lines = _wrap(text, out.shape[1] - 8, scale)
    (_, th), base = cv2.getTextSize("Ag", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    step = th + base + 2
    band = min(out.shape[0], step * len(lines) + 4)
    out[:band] = (out[:band].astype(np.float32) * 0.35).astype(np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(out, line, (4, th + 3 + i * step), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                    cv2.LINE_AA)
    return out


def grid(tiles: Sequence[np.ndarray], cols: int, pad: int = 4, background: int = 24) -> np.ndarray:
    """Arrange equally sized ``(H, W, 3)`` uint8 tiles row by row, ``cols`` per row."""
    if not tiles:
        raise ValueError("no tiles to arrange")
    h, w = tiles[0].shape[:2]
    rows = (len(tiles) + cols - 1) // cols
    sheet = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), background, dtype=np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        sheet[y : y + h, x : x + w] = t
    return sheet


def matte_rgb(matte: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint8 matte as a grey RGB tile."""
    return np.repeat(matte[..., None], 3, axis=2)


def overlay(image: np.ndarray, alpha: np.ndarray, occluder_alpha: np.ndarray) -> np.ndarray:
    """Image with the visible skin tinted green and the occluded skin-or-occluder area tinted red.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        alpha, occluder_alpha: ``(H, W)`` uint8 mattes (255 = full).
    """
    img = image.astype(np.float32)
    a = alpha.astype(np.float32)[..., None] / 255.0
    o = occluder_alpha.astype(np.float32)[..., None] / 255.0
    green = np.array([40, 220, 90], dtype=np.float32)
    red = np.array([235, 50, 50], dtype=np.float32)
    img = img * (1 - 0.45 * a) + green * 0.45 * a
    img = img * (1 - 0.35 * o) + red * 0.35 * o
    return np.clip(img, 0, 255).astype(np.uint8)


def save_png(path: str | Path, image: np.ndarray) -> None:
    """Write an RGB uint8 image as PNG (atomically)."""
    from celebamat.utils.images import encode_png
    from celebamat.utils.io import atomic_write_bytes

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, encode_png(image))
