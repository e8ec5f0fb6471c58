"""Procedural translucent occluders (smoke, steam, veils, lace, nets, water, plastic, glass) and textured
random shapes ("random occlusion"). All are placed by zone (anchor ``center``)."""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from celebamat.occluders.draw import Canvas, fbm, poly_mask, soft, stroke_mask

ZONE_SETS = (["eyes"], ["mouth"], ["nose"], ["forehead"], ["cheek_left"], ["cheek_right"], ["chin"], ["face"],
             ["eyes", "nose"], ["mouth", "chin"])


def _blob(rng, c, r, n=200, rough=0.25, k=6):
    """Closed random outline: a circle with a few random Fourier harmonics."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rr = np.ones_like(t)
    for h in range(2, k + 2):
        rr += rough / h * rng.normal() * np.cos(h * t + rng.uniform(0, 2 * np.pi))
    rr = np.clip(rr, 0.35, 1.6)
    return np.stack([c[0] + r[0] * rr * np.cos(t), c[1] + r[1] * rr * np.sin(t)], -1)


def _edge_fade(shape, ss, margin):
    """1 inside, falling smoothly to 0 at the borders so translucent clouds never touch them."""
    H, W = shape
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    d = np.minimum.reduce([xx, yy, W - 1 - xx, H - 1 - yy]) / (margin * ss)
    return np.clip(d, 0, 1) ** 1.5


class _Frame(NamedTuple):
    """The canvas of one translucent asset and what its painters share: size (px), supersampling, the
    supersampled shape and the pixel grid in asset pixels."""

    cv: Canvas
    W: int
    H: int
    ss: int
    shape: tuple[int, int]
    xx: np.ndarray
    yy: np.ndarray


def _smoke(rng: np.random.Generator, f: _Frame, subtype: str, index: int) -> None:
    """Smoke or steam: a warped fractal plume."""
    cv, W, H, ss, shape, xx, yy = f
    n1 = fbm(rng, shape, 60 * ss, 5)
    warp = (fbm(rng, shape, 80 * ss, 3) - 0.5) * 60 * ss
    mapx = (np.mgrid[0:cv.H, 0:cv.W][1] + warp).astype(np.float32)
    mapy = (np.mgrid[0:cv.H, 0:cv.W][0] * (0.5 if subtype == "steam" else 1.0)).astype(np.float32)
    n2 = cv2.remap(n1, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    plume = np.exp(-(((xx - W / 2) / (W * 0.28)) ** 2 + ((yy - H / 2) / (H * 0.32)) ** 2))
    dens = np.clip(n2 * 1.4 - 0.35, 0, 1) * plume * _edge_fade(shape, ss, 20)
    peak = rng.uniform(0.45, 0.7) if subtype == "smoke" else rng.uniform(0.35, 0.55)
    alpha = np.clip(dens * peak / max(dens.max(), 1e-6), 0, 1)
    grey = rng.uniform(0.55, 0.8) if subtype == "smoke" else rng.uniform(0.9, 0.98)
    col = np.repeat((grey + 0.1 * (n1 - 0.5))[..., None], 3, -1)
    cv.over(np.clip(col, 0, 1), alpha)


def _veil(rng: np.random.Generator, f: _Frame, m: np.ndarray, col: np.ndarray) -> None:
    """A woven veil with soft folds."""
    cv, W, H, ss, shape, xx, yy = f
    weave = 0.85 + 0.15 * (np.sin(xx * 2.2) * np.sin(yy * 2.2) > 0)
    folds = 0.75 + 0.25 * np.sin(xx / rng.uniform(8, 14) + 3 * fbm(rng, shape, 40 * ss, 2))
    alpha = m * rng.uniform(0.3, 0.55) * weave * folds
    cv.over(col * (0.85 + 0.15 * folds[..., None]), alpha)


def _net(rng: np.random.Generator, f: _Frame, m: np.ndarray, col: np.ndarray) -> None:
    """A diagonal net."""
    cv, W, H, ss, shape, xx, yy = f
    cell = rng.uniform(10, 18)
    th = rng.uniform(0.05, 0.1)
    u = (xx + yy) / cell
    v = (xx - yy) / cell
    line = np.maximum(np.clip(1 - np.abs(u - np.round(u)) / th, 0, 1), np.clip(1 - np.abs(v - np.round(v)) / th, 0, 1))
    cv.over(col, m * line * 0.92)


def _lace(rng: np.random.Generator, f: _Frame, m: np.ndarray, col: np.ndarray) -> None:
    """Lace: floral rosettes on a fine hexagonal mesh."""
    cv, W, H, ss, shape, xx, yy = f
    mesh_cell = 5.0
    u = xx / mesh_cell
    v = (yy / mesh_cell) * 1.15
    fine = np.maximum(np.clip(1 - np.abs(u - np.round(u)) / 0.12, 0, 1), np.clip(1 - np.abs(v - np.round(v)) / 0.12, 0, 1))
    alpha = fine * 0.5
    motif = np.zeros(shape, np.float64)
    step = rng.uniform(34, 46)
    for cy in np.arange(step / 2, H, step):
        for cx in np.arange(step / 2 + (cy // step % 2) * step / 2, W, step):
            petals = int(rng.integers(5, 8))
            for k in range(petals):
                a = 2 * math.pi * k / petals
                p = (cx + math.cos(a) * step * 0.22, cy + math.sin(a) * step * 0.22)
                cv2.ellipse(motif, (int(p[0] * ss), int(p[1] * ss)), (int(step * 0.16 * ss), int(step * 0.08 * ss)),
                            math.degrees(a), 0, 360, 1.0, max(1, int(1.2 * ss)), cv2.LINE_AA)
            cv2.circle(motif, (int(cx * ss), int(cy * ss)), int(step * 0.08 * ss), 1.0, -1, cv2.LINE_AA)
    alpha = np.maximum(alpha, motif) * m * 0.9
    cv.over(col, alpha)


_FABRICS = {"veil": _veil, "net": _net, "lace": _lace}


def _fabric(rng: np.random.Generator, f: _Frame, subtype: str, index: int) -> None:
    """Veil, lace or net: a fabric of one colour inside a rough outline."""
    cv, W, H, ss, shape, xx, yy = f
    outline = _blob(rng, (W / 2, H / 2), (W * 0.42, H * 0.4), rough=0.12 if subtype == "veil" else 0.2)
    outline = np.clip(outline, 4, [W - 4, H - 4])  # alpha stays zero on every border
    m = poly_mask(shape, outline * ss)
    col = np.array(rng.choice([[0.05, 0.05, 0.05], [0.95, 0.95, 0.92], [0.9, 0.85, 0.7], [0.55, 0.1, 0.15]]),
                   np.float64)
    _FABRICS[subtype](rng, f, m, col)


def _water(rng: np.random.Generator, f: _Frame, subtype: str, index: int) -> None:
    """Water drops (and a splash on odd indices)."""
    cv, W, H, ss, shape, xx, yy = f
    for _ in range(int(rng.integers(12, 40))):
        c = rng.uniform([0.15 * W, 0.15 * H], [0.85 * W, 0.85 * H])
        r = rng.uniform(3, 16)
        e = rng.uniform(0.7, 1.3)
        m = poly_mask(shape, _blob(rng, c, (r, r * e), 60, 0.08) * ss)
        inner = soft(m, r * 0.25 * ss)
        rim = np.clip(m - inner, 0, 1)
        hl = np.exp(-(((xx - c[0] + r * 0.35) ** 2 + (yy - c[1] + r * 0.35) ** 2) / (r * 0.22) ** 2))
        alpha = np.clip(m * 0.18 + rim * 0.5 + hl * m * 0.9, 0, 1)
        col = np.where(hl[..., None] > 0.2, 1.0, np.array([0.55, 0.62, 0.7], np.float64) * (1 - rim[..., None] * 0.5))
        cv.over(col.astype(np.float64), alpha)
    if index % 2:  # a splash: thin radial streaks from one point
        c = np.array([W / 2, H * 0.6])
        for _ in range(30):
            a = rng.uniform(-math.pi, 0)
            L = rng.uniform(30, min(W, H) * 0.4)
            pts = np.array([c, c + L * np.array([math.cos(a), math.sin(a)])]) * ss
            cv.over(np.array([0.85, 0.9, 0.95], np.float64), stroke_mask(shape, pts, rng.uniform(1, 2.5) * ss) * 0.5)


def _sheet(rng: np.random.Generator, f: _Frame, subtype: str, index: int) -> None:
    """Plastic or glass: a see-through sheet with specular streaks."""
    cv, W, H, ss, shape, xx, yy = f
    outline = _blob(rng, (W / 2, H / 2), (W * 0.42, H * 0.4), rough=0.1) if subtype == "plastic" else \
        np.array([[0.1 * W, 0.15 * H], [0.85 * W, 0.1 * H], [0.9 * W, 0.85 * H], [0.2 * W, 0.9 * H]]) + rng.normal(0, 8, (4, 2))
    outline = np.clip(outline, 4, [W - 4, H - 4])
    m = poly_mask(shape, outline * ss)
    base_a = rng.uniform(0.1, 0.22)
    crinkle = fbm(rng, shape, 25 * ss, 4) if subtype == "plastic" else np.zeros(shape, np.float64)
    streak = np.exp(-(((xx - yy * 0.6) - rng.uniform(0.2, 0.6) * W) / 6) ** 2)
    spec = np.clip(np.abs(np.sin(crinkle * 12)) ** 8 * 0.6 + streak * 0.5, 0, 1)
    alpha = m * np.clip(base_a + spec * 0.6, 0, 1)
    if subtype == "glass":
        edge = np.clip(m - cv2.erode((m > 0.5).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=4 * ss), 0, 1)
        alpha = np.clip(alpha + edge * 0.5, 0, 1)
    tint = np.array([0.85, 0.95, 0.9] if subtype == "glass" else [0.95, 0.95, 0.97], np.float64)
    col = tint * (0.7 + 0.3 * spec[..., None])
    cv.over(np.clip(col, 0, 1), alpha)


#: Subtype -> painter; any other subtype is a see-through sheet (plastic, glass).
_PAINTERS = {"smoke": _smoke, "steam": _smoke, "veil": _fabric, "lace": _fabric, "net": _fabric, "water": _water}


def translucent(rng: np.random.Generator, index: int, subtype: str):
    W, H = int(rng.integers(220, 300)), int(rng.integers(200, 280))
    ss = 2 if subtype in ("smoke", "steam") else 3
    cv = Canvas(W, H, ss)
    shape = (cv.H, cv.W)
    yy, xx = np.mgrid[0:cv.H, 0:cv.W].astype(np.float64) / ss
    _PAINTERS.get(subtype, _sheet)(rng, _Frame(cv, W, H, ss, shape, xx, yy), subtype, index)
    meta = {"kind": "translucent", "subtype": subtype, "anchors": {"center": [W / 2, H / 2]}, "targets": {},
            "scale": {"measure": "face_width", "length": float(max(W, H)), "range": [0.3, 0.7]},
            "rotation": [-180.0, 180.0], "mirror": True, "zones": list(ZONE_SETS[index % len(ZONE_SETS)]),
            "layer": 20, "tags": {}}
    return meta, cv.to_rgba8()


def texture(rng: np.random.Generator, index: int, subtype: str = "shape"):
    W, H = int(rng.integers(140, 240)), int(rng.integers(140, 240))
    ss = 3
    cv = Canvas(W, H, ss)
    shape = (cv.H, cv.W)
    kind = ["blob", "polygon", "ellipse", "star", "rect"][index % 5]
    c, r = (W / 2, H / 2), (W * 0.44, H * 0.44)
    if kind == "blob":
        outline = _blob(rng, c, r, rough=0.5)
    elif kind == "polygon":
        k = int(rng.integers(3, 8))
        t = np.sort(rng.uniform(0, 2 * np.pi, k))
        outline = np.stack([c[0] + r[0] * np.cos(t), c[1] + r[1] * np.sin(t)], -1)
    elif kind == "ellipse":
        outline = _blob(rng, c, (r[0], r[1] * rng.uniform(0.4, 1.0)), rough=0.0)
    elif kind == "star":
        k = int(rng.integers(4, 8)) * 2
        t = np.linspace(0, 2 * np.pi, k, endpoint=False)
        rr = np.where(np.arange(k) % 2 == 0, 1.0, rng.uniform(0.4, 0.6))
        outline = np.stack([c[0] + r[0] * rr * np.cos(t), c[1] + r[1] * rr * np.sin(t)], -1)
    else:
        a = rng.uniform(0, np.pi)
        R = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        box = np.array([[-1, -0.5], [1, -0.5], [1, 0.5], [-1, 0.5]]) * [r[0] * 0.7, r[1] * 0.9]
        outline = box @ R.T + c
    outline = np.clip(outline, 3, [W - 3, H - 3])
    m = poly_mask(shape, outline * ss)
    yy, xx = np.mgrid[0:cv.H, 0:cv.W].astype(np.float64) / ss
    c1, c2 = rng.uniform(0, 1, 3).astype(np.float64), rng.uniform(0, 1, 3).astype(np.float64)
    pat = ["stripes", "checker", "dots", "plaid", "noise", "marble", "wood"][index % 7]
    f = rng.uniform(0.08, 0.3)
    a = rng.uniform(0, np.pi)
    u = xx * math.cos(a) + yy * math.sin(a)
    v = -xx * math.sin(a) + yy * math.cos(a)
    if pat == "stripes":
        t = (np.sin(u * f * 2) > 0).astype(np.float64)
    elif pat == "checker":
        t = ((np.floor(u * f / 2) + np.floor(v * f / 2)) % 2).astype(np.float64)
    elif pat == "dots":
        t = ((np.sin(u * f * 2) * np.sin(v * f * 2)) > 0.5).astype(np.float64)
    elif pat == "plaid":
        t = 0.5 * (np.sin(u * f) > 0.3) + 0.5 * (np.sin(v * f * 1.3) > 0.3)
    elif pat == "noise":
        t = fbm(rng, shape, 15 * ss, 4)
    elif pat == "marble":
        t = 0.5 + 0.5 * np.sin(u * f + 6 * fbm(rng, shape, 40 * ss, 4))
    else:
        rr = np.sqrt((xx - W * rng.uniform(0, 1)) ** 2 + ((yy - H * rng.uniform(0, 1)) * 0.3) ** 2)
        t = 0.5 + 0.5 * np.sin(rr * f * 2 + 3 * fbm(rng, shape, 30 * ss, 3))
    t = soft(t.astype(np.float64), 0.6 * ss)
    col = c1 * (1 - t[..., None]) + c2 * t[..., None]
    col = col * (0.9 + 0.1 * fbm(rng, shape, 20 * ss, 3))[..., None]
    cv.over(np.clip(col, 0, 1).astype(np.float64), m)
    meta = {"kind": "texture", "subtype": "shape", "anchors": {"center": [W / 2, H / 2]}, "targets": {},
            "scale": {"measure": "face_width", "length": float(max(W, H)), "range": [0.2, 0.5]},
            "rotation": [-180.0, 180.0], "mirror": True, "zones": list(ZONE_SETS[index % len(ZONE_SETS)]),
            "layer": 25, "tags": {"shape": kind, "pattern": pat}}
    return meta, cv.to_rgba8()


def generate(rng: np.random.Generator, index: int, subtype: str):
    if subtype == "shape":
        return texture(rng, index)
    return translucent(rng, index, subtype)
