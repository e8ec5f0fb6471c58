"""PNG sheets of validation samples: image | ground truth | prediction | |error| | uncertainty."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def _gray(a: np.ndarray) -> np.ndarray:
    return np.repeat(np.clip(a, 0, 1)[..., None], 3, axis=-1)


def _heat(a: np.ndarray) -> np.ndarray:
    """Black -> red -> yellow -> white ramp for maps in [0, 1]."""
    a = np.clip(a, 0, 1)[..., None]
    return np.concatenate([np.clip(3 * a, 0, 1), np.clip(3 * a - 1, 0, 1), np.clip(3 * a - 2, 0, 1)], -1)


def save_sheet(path: str | Path, shown: dict[str, np.ndarray], min_tile: int = 128) -> Path:
    """Write the sheet. ``shown``: image ``(N, H, W, 3)``, gt and pred ``(N, H, W)`` in [0, 1], optional
    log_scale ``(N, H, W)`` (drawn per image min-max normalised, bright = uncertain)."""
    cols = ["image", "ground truth", "prediction", "|error|"]
    n = len(shown["image"])
    tiles = []
    for i in range(n):
        row = [shown["image"][i], _gray(shown["gt"][i]), _gray(shown["pred"][i]),
               _heat(np.abs(shown["pred"][i] - shown["gt"][i]))]
        if "log_scale" in shown:
            ls = shown["log_scale"][i]
            row.append(_heat((ls - ls.min()) / max(float(ls.max() - ls.min()), 1e-6)))
        tiles.append(np.concatenate(row, axis=1))
    if "log_scale" in shown:
        cols.append("uncertainty")
    grid = (np.concatenate(tiles, axis=0) * 255).round().astype(np.uint8)
    h = shown["image"].shape[1]
    scale = max(1, -(-min_tile // h))  # upscale tiny validation images so they can be judged
    img = Image.fromarray(grid).resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST)
    tile_w = img.width // len(cols)
    canvas = Image.new("RGB", (img.width, img.height + 18), "white")
    canvas.paste(img, (0, 18))
    draw = ImageDraw.Draw(canvas)
    for j, name in enumerate(cols):
        draw.text((j * tile_w + 4, 3), name, fill="black")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path
