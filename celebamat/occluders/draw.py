"""Supersampled raster helpers shared by the procedural generators.

Everything is drawn on a float64 canvas ``SS`` times larger than the output and reduced with area
averaging, so edges get truly fractional alpha. NumPy and OpenCV pick SIMD kernels per CPU, whose results
differ in the last bits; float64 keeps such a difference about 1e-13 of a level, far from most rounding
decisions, but a few hands decide which part of their surface is on top by a comparison that it can flip.
So ``generate_library`` renders in processes on the baseline kernels (:mod:`celebamat.utils.cpu`), which
makes the library the same byte for byte on any x86-64 CPU. Colours are linear-ish floats in [0, 1]; alpha in [0, 1].
All functions are deterministic (no RNG inside: randomness is passed in by the caller).
"""

from __future__ import annotations

import cv2
import numpy as np


class Canvas:
    """Premultiplied RGBA float64 canvas of ``(h, w)`` pixels at supersampling factor ``ss``."""

    def __init__(self, width: int, height: int, ss: int = 3) -> None:
        self.w, self.h, self.ss = int(width), int(height), int(ss)
        self.W, self.H = self.w * self.ss, self.h * self.ss
        self.rgb = np.zeros((self.H, self.W, 3), np.float64)  # premultiplied
        self.a = np.zeros((self.H, self.W), np.float64)

    def over(self, color: np.ndarray, alpha: np.ndarray, y0: int = 0, x0: int = 0) -> None:
        """Composite a straight-colour layer (``(h,w,3)`` or ``(3,)``) with ``alpha`` ``(h,w)`` on top."""
        h, w = alpha.shape
        sl = (slice(y0, y0 + h), slice(x0, x0 + w))
        a = alpha[..., None]
        self.rgb[sl] = np.asarray(color, np.float64) * a + self.rgb[sl] * (1 - a)
        self.a[sl] = alpha + self.a[sl] * (1 - alpha)

    def over_pixels(self, color: np.ndarray, alpha: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> None:
        """:meth:`over` at the listed canvas pixels only (``alpha``, ``ys``, ``xs``: ``(n,)``, no repeats): the same
        arithmetic, pixel for pixel, for a thin layer whose bounding box is mostly empty."""
        a = alpha[:, None]
        self.rgb[ys, xs] = np.asarray(color, np.float64) * a + self.rgb[ys, xs] * (1 - a)
        self.a[ys, xs] = alpha + self.a[ys, xs] * (1 - alpha)

    def multiply_color(self, factor: np.ndarray) -> None:
        """Darken/lighten colour where something is already drawn, without changing alpha."""
        self.rgb *= factor[..., None] if factor.ndim == 2 else factor

    def to_rgba8(self) -> np.ndarray:
        """Area-average down to ``(h, w, 4)`` uint8 straight alpha."""
        rgb = cv2.resize(self.rgb, (self.w, self.h), interpolation=cv2.INTER_AREA)
        a = cv2.resize(self.a, (self.w, self.h), interpolation=cv2.INTER_AREA)
        a = np.clip(a, 0, 1)
        col = np.where(a[..., None] > 1e-4, rgb / np.maximum(a[..., None], 1e-4), 0)
        out = np.empty((self.h, self.w, 4), np.uint8)
        out[..., :3] = np.clip(np.rint(col * 255), 0, 255)
        out[..., 3] = np.clip(np.rint(a * 255), 0, 255)
        return out


def poly_mask(shape: tuple[int, int], pts: np.ndarray) -> np.ndarray:
    """Filled polygon coverage (float64 0/1) on an ``(H, W)`` grid; ``pts`` ``(n, 2)`` in grid pixels."""
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(np.asarray(pts) * 16).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=4)
    return m.astype(np.float64) / 255.0


def stroke_mask(shape: tuple[int, int], pts: np.ndarray, thickness: float) -> np.ndarray:
    """Anti-aliased polyline coverage (float64) of integer-rounded ``thickness`` on an ``(H, W)`` grid."""
    m = np.zeros(shape, np.uint8)
    cv2.polylines(m, [np.round(np.asarray(pts) * 16).astype(np.int32)], False, 255,
                  thickness=max(1, int(round(thickness))), lineType=cv2.LINE_AA, shift=4)
    return m.astype(np.float64) / 255.0


def bezier(ctrl: np.ndarray, n: int = 32) -> np.ndarray:
    """Points ``(n, 2)`` along a Bezier curve of any degree given ``ctrl`` ``(k, 2)`` (de Casteljau)."""
    t = np.linspace(0.0, 1.0, n)[:, None, None]
    p = np.broadcast_to(np.asarray(ctrl, np.float64)[None], (n, *np.shape(ctrl))).copy()
    while p.shape[1] > 1:
        p = p[:, :-1] * (1 - t) + p[:, 1:] * t
    return p[:, 0]


def height_from_mask(mask: np.ndarray, radius: float) -> np.ndarray:
    """A rounded height field from a coverage mask: rises like a circle over ``radius`` px from the edge."""
    m = (mask > 0.5).astype(np.uint8)
    d = cv2.distanceTransform(m, cv2.DIST_L2, 5).astype(np.float64)
    d = np.minimum(d, radius) / max(radius, 1e-6)
    return np.sqrt(np.clip(1 - (1 - d) ** 2, 0, 1)) * radius


def normals(height: np.ndarray, blur: float = 1.5) -> np.ndarray:
    """Unit normals ``(H, W, 3)`` (x right, y down, z to the viewer) of a height field."""
    if blur > 0:
        height = cv2.GaussianBlur(height, (0, 0), blur)
    gy, gx = np.gradient(height)
    n = np.stack([-gx, -gy, np.ones_like(height)], -1)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def lambert(n: np.ndarray, light: tuple[float, float, float], ambient: float = 0.45) -> np.ndarray:
    """Diffuse shading factor ``(H, W)`` in [ambient, 1]."""
    l = np.asarray(light, np.float64)
    l = l / np.linalg.norm(l)
    return ambient + (1 - ambient) * np.clip(n @ l, 0, 1)


def specular(n: np.ndarray, light: tuple[float, float, float], power: float = 20.0) -> np.ndarray:
    """Blinn-Phong highlight ``(H, W)`` in [0, 1] for a viewer along +z."""
    l = np.asarray(light, np.float64)
    l = l / np.linalg.norm(l)
    hv = l + np.array([0, 0, 1], np.float64)
    hv = hv / np.linalg.norm(hv)
    return np.clip(n @ hv, 0, 1) ** power


def env_reflection(n: np.ndarray) -> np.ndarray:
    """What a mirror-like surface with normals ``n`` ``(H, W, 3)`` reflects, ``(H, W)`` in [0, 1]: a studio
    environment, bright above the horizon and dark below, with a soft window up and to the left. Gloss on
    phones, glass and metal reads as such because it mirrors surroundings, not just a point light."""
    nz = n[..., 2]
    ry = 2.0 * nz * n[..., 1]  # reflected ray for a viewer along +z (y down)
    rx = 2.0 * nz * n[..., 0]
    sky = 0.5 - 0.5 * np.tanh(3.0 * (ry + 0.1))
    window = np.exp(-(((rx + 0.45) / 0.25) ** 2 + ((ry + 0.5) / 0.3) ** 2))
    return np.clip(0.15 + 0.55 * sky + 0.6 * window, 0.0, 1.0)


def value_noise(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Smooth noise in [0, 1] of ``shape``; features about ``cell`` px wide (bicubic-upsampled lattice)."""
    gh, gw = int(np.ceil(shape[0] / cell)) + 3, int(np.ceil(shape[1] / cell)) + 3
    g = rng.random((gh, gw)).astype(np.float64)
    big = cv2.resize(g, (int(gw * cell), int(gh * cell)), interpolation=cv2.INTER_CUBIC)
    return np.clip(big[: shape[0], : shape[1]], 0, 1)


def fbm(rng: np.random.Generator, shape: tuple[int, int], cell: float, octaves: int = 4,
        gain: float = 0.5) -> np.ndarray:
    """Fractal noise in [0, 1]: octaves of :func:`value_noise` with halving cell size."""
    out = np.zeros(shape, np.float64)
    amp, tot = 1.0, 0.0
    for _ in range(octaves):
        out += amp * value_noise(rng, shape, max(cell, 1.5))
        tot += amp
        amp *= gain
        cell /= 2
    out /= tot
    lo, hi = np.percentile(out, [1, 99])
    return np.clip((out - lo) / max(hi - lo, 1e-6), 0, 1)


def soft(mask: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(mask, (0, 0), sigma) if sigma > 0 else mask


def soft_coarse(mask: np.ndarray, sigma: float, factor: int = 4) -> np.ndarray:
    """A wide Gaussian blur (``sigma`` in grid px) computed at ``1/factor`` of the resolution and scaled back:
    the same soft field for sigmas of many pixels (shadows), at a fraction of the cost; float64 throughout."""
    h, w = mask.shape
    f = max(1, min(int(factor), int(sigma // 2)))
    if f == 1:
        return soft(mask, sigma)
    small = cv2.resize(mask, (-(-w // f), -(-h // f)), interpolation=cv2.INTER_AREA)
    return cv2.resize(soft(small, sigma / f), (w, h), interpolation=cv2.INTER_LINEAR)


def srgb(rgb255: tuple[int, int, int] | np.ndarray) -> np.ndarray:
    return np.asarray(rgb255, np.float64) / 255.0


def capsule(shape: tuple[int, int], p0: np.ndarray, p1: np.ndarray, r0: float, r1: float):
    """Coverage ``(h, w)`` and unit normals ``(h, w, 3)`` of a tapered capsule seen from the side, on its window of
    the grid (all in grid px). Returns ``((y0, y1, x0, x1), cov, n, t)`` (``t`` the axis parameter in [0, 1]),
    or None when it is off the grid."""
    H, W = shape
    pad = max(r0, r1) + 2
    x0, x1 = int(max(0, min(p0[0], p1[0]) - pad)), int(min(W, max(p0[0], p1[0]) + pad + 1))
    y0, y1 = int(max(0, min(p0[1], p1[1]) - pad)), int(min(H, max(p0[1], p1[1]) + pad + 1))
    if x1 <= x0 or y1 <= y0:
        return None
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    d = p1 - p0
    L2 = float(d @ d) + 1e-9
    t = np.clip(((xx - p0[0]) * d[0] + (yy - p0[1]) * d[1]) / L2, 0, 1)
    cx, cy = p0[0] + t * d[0], p0[1] + t * d[1]
    r = r0 + (r1 - r0) * t
    vx, vy = xx - cx, yy - cy
    dist = np.sqrt(vx * vx + vy * vy)
    cov = np.clip(r - dist + 0.5, 0, 1)
    u = np.clip(dist / r, 0, 1)
    nz = np.sqrt(np.clip(1 - u * u, 0, 1)) + 0.15
    inv = 1 / np.maximum(dist, 1e-6)
    n = np.stack([vx * inv * u, vy * inv * u, nz], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    return (y0, y1, x0, x1), cov.astype(np.float64), n.astype(np.float64), t
