"""DTD textures turned into random textured shapes with partial transparency (as RandOcc does)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from celebamat.occluders.presets.base import Item, Skip, images_in, read_rgb

#: Side of a generated shape's canvas, pixels.
SHAPE_SIDE = 256
#: Root seed of the shapes (each texture file draws from ``SeedSequence([SEED, crc32(relative path)])``).
SEED = 2025


def random_shape(rng: np.random.Generator, side: int = SHAPE_SIDE) -> np.ndarray:
    """A random shape's alpha, ``(side, side)`` uint8: a star-shaped blob, a polygon or an ellipse, anti-aliased,
    with a uniform opacity in [0.35, 1] and (half the time) an opacity gradient across it."""
    ss = 4  # supersampling for an anti-aliased edge
    big = side * ss
    c = big / 2
    kind = int(rng.integers(3))
    m = np.zeros((big, big), np.uint8)
    if kind == 0:  # blob: radius with a few random harmonics
        t = np.linspace(0, 2 * np.pi, 180, endpoint=False)
        r = np.ones_like(t)
        for k in range(2, 6):
            r += rng.uniform(-0.18, 0.18) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
        r *= rng.uniform(0.32, 0.45) * big
        pts = np.stack([c + r * np.cos(t), c + r * np.sin(t)], 1)
        cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 255)
    elif kind == 1:  # convex-ish polygon
        n = int(rng.integers(3, 8))
        t = np.sort(rng.uniform(0, 2 * np.pi, n))
        r = rng.uniform(0.25, 0.46, n) * big
        pts = np.stack([c + r * np.cos(t), c + r * np.sin(t)], 1)
        cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 255)
    else:
        axes = (int(rng.uniform(0.2, 0.45) * big), int(rng.uniform(0.15, 0.45) * big))
        cv2.ellipse(m, (int(c), int(c)), axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    a = cv2.resize(m.astype(np.float32) / 255, (side, side), interpolation=cv2.INTER_AREA)
    opacity = rng.uniform(0.35, 1.0)
    if rng.random() < 0.5:
        ang = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:side, 0:side] / side - 0.5
        g = (xx * np.cos(ang) + yy * np.sin(ang)) + 0.5
        a = a * (opacity * (0.4 + 0.6 * np.clip(g, 0, 1)))
    else:
        a = a * opacity
    return np.clip(np.rint(a * 255), 0, 255).astype(np.uint8)


def textured_shape(texture: np.ndarray, rng: np.random.Generator, side: int = SHAPE_SIDE
                   ) -> tuple[np.ndarray, np.ndarray]:
    """``(rgb, alpha)`` of a random shape filled with a random square patch of ``texture`` (``(h, w, 3)``)."""
    h, w = texture.shape[:2]
    s = min(h, w)
    patch = int(rng.uniform(0.5, 1.0) * s)
    y, x = int(rng.integers(0, h - patch + 1)), int(rng.integers(0, w - patch + 1))
    rgb = cv2.resize(texture[y: y + patch, x: x + patch], (side, side), interpolation=cv2.INTER_AREA)
    return rgb, random_shape(rng, side)


def _dtd_root(src: Path) -> Path:
    return src / "dtd" if (src / "dtd" / "images").is_dir() else src


def read_dtd(src: Path, shapes_per_image: int = 1) -> Iterator[Item | Skip]:
    """DTD (Cimpoi et al.): ``images/<category>/<category>_<n>.jpg`` and ``labels/{train,val,test}<k>.txt``
    (``category/file.jpg`` lines). Each texture gives ``shapes_per_image`` random shapes (kind texture, subtype
    = category); textures listed in ``labels/test1.txt`` go to the test split."""
    root = _dtd_root(src)
    images = root / "images"
    if not images.is_dir():
        yield Skip(str(root), "no images/<category>/ folders (DTD layout)")
        return
    test = set()
    lst = root / "labels" / "test1.txt"
    if lst.is_file():
        test = {ln.strip() for ln in lst.read_text(encoding="utf-8").splitlines() if ln.strip()}
    for cat in sorted(d for d in images.iterdir() if d.is_dir()):
        subtype = "".join(ch if ch.isalnum() else "_" for ch in cat.name.lower())
        for p in images_in(cat):
            rel = f"{cat.name}/{p.name}"
            for k in range(shapes_per_image):
                seed = np.random.SeedSequence([SEED, zlib.crc32(rel.encode()), k])

                def load(p: Path = p, seed: np.random.SeedSequence = seed) -> tuple[np.ndarray, np.ndarray]:
                    return textured_shape(read_rgb(p), np.random.default_rng(seed))

                yield Item(name=f"{cat.name}_{p.stem}_{k}", load=load, kind="texture", subtype=subtype,
                           group=f"dtd:{rel}", split="test" if rel in test else ("train" if test else None), exact=True,
                           tags={"file": rel, "class": cat.name, "shape": k})
