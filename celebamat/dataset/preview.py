"""Preview sheets of samples: composite, alpha and overlay side by side, with the occluder kinds named."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Iterable

import cv2
import numpy as np

from celebamat.utils.sheet import caption, grid, matte_rgb, overlay, save_png

TILE = 192


def sample_tiles(image: np.ndarray, alpha: np.ndarray, occluder_alpha: np.ndarray, label: str) -> list[np.ndarray]:
    """Three tiles for one sample: composite (captioned), alpha, overlay."""
    def fit(x: np.ndarray) -> np.ndarray:
        return cv2.resize(x, (TILE, TILE), interpolation=cv2.INTER_AREA)

    return [
        caption(fit(image), label),
        caption(fit(matte_rgb(alpha)), "alpha"),
        caption(fit(overlay(image, alpha, occluder_alpha)), "overlay"),
    ]


def occluder_label(occluders: Iterable[dict[str, Any]]) -> str:
    names = [f"{o['kind']}:{o['subtype']}" for o in occluders]
    return ", ".join(names) if names else "clean"


def preview_sheet(samples: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]], per_row: int = 2) -> np.ndarray:
    """A sheet of ``(image, alpha, occluder_alpha, label)`` samples, ``per_row`` samples (x3 tiles) per row."""
    tiles: list[np.ndarray] = []
    for image, alpha, occ, label in samples:
        tiles.extend(sample_tiles(image, alpha, occ, label))
    return grid(tiles, cols=3 * per_row)


def _decode(cell: Any, gray: bool = False) -> np.ndarray:
    from PIL import Image

    im = Image.open(io.BytesIO(cell["bytes"]))
    return np.asarray(im.convert("L" if gray else "RGB"))


def render_dataset_preview(dataset_dir: str | Path, out_path: str | Path, n: int = 12) -> Path:
    """Preview of a built dataset: ``n`` rows spread over its splits, read straight from the shards."""
    import pyarrow.parquet as pq

    files = sorted((Path(dataset_dir) / "data").glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no shards under {Path(dataset_dir) / 'data'}")
    by_split: dict[str, list[Path]] = {}
    for f in files:
        by_split.setdefault(f.name.split("-")[0], []).append(f)
    order = [s for s in ("train", "validation", "test") if s in by_split]
    share = {s: max(1, n // len(order)) for s in order}
    share[order[0]] += n - sum(share.values())
    samples = []
    cols = ["image", "alpha", "occluder_alpha", "occluders", "split"]
    for s in order:
        table = pq.read_table(by_split[s][0], columns=cols).slice(0, share[s]).to_pylist()
        for r in table:
            label = f"{r['split']}: {occluder_label(r['occluders'])}"
            samples.append((_decode(r["image"]), _decode(r["alpha"], True), _decode(r["occluder_alpha"], True), label))
    out = Path(out_path)
    save_png(out, preview_sheet(samples))
    return out
