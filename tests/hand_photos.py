"""Photos the tests make with hands on them: a bundled hand asset pasted onto a picture (its alpha is the truth).

Shared by the face-finding, hand, hand-cut-out and hand-prior tests (``tests/`` is on ``sys.path`` through
its conftest)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

BUNDLED = Path(__file__).resolve().parents[1] / "assets" / "occluders"


def paste_hand(photo: np.ndarray, asset: str, center, width: float) -> tuple[np.ndarray, np.ndarray]:
    """``photo`` (``(H, W, 3)``) with the bundled asset ``asset`` scaled to ``width`` px and centred on ``center``.

    Returns the uint8 composite and the hand's alpha ``(H, W)`` float in [0, 1]."""
    rgba = np.asarray(Image.open(BUNDLED / f"{asset}.png").convert("RGBA")).astype(np.float32)
    s = width / rgba.shape[1]
    rgba = cv2.resize(rgba, (round(rgba.shape[1] * s), round(rgba.shape[0] * s)), interpolation=cv2.INTER_AREA)
    m = np.float32([[1, 0, center[0] - rgba.shape[1] / 2], [0, 1, center[1] - rgba.shape[0] / 2]])
    warped = cv2.warpAffine(rgba, m, (photo.shape[1], photo.shape[0]))
    a = warped[..., 3:] / 255.0
    out = np.clip(np.asarray(photo, np.float32) * (1 - a) + warped[..., :3] * a + 0.5, 0, 255).astype(np.uint8)
    return out, a[..., 0]
