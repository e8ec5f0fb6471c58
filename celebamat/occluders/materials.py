"""Materials shared by the generators: gloss that mirrors a room, and a microphone's wire-mesh grille.

Colours are straight RGB float64 in [0, 1] on a supersampled grid; normals ``(H, W, 3)`` unit, x right, y down,
z towards the viewer; ``light`` a direction in the same axes.
"""

from __future__ import annotations

import math

import numpy as np

from celebamat.occluders.draw import env_reflection, lambert, specular


def glossy(base: np.ndarray, n: np.ndarray, light: tuple[float, float, float], reflect: float, amb: float = 0.5,
           power: float = 60.0, spec: float = 0.6) -> np.ndarray:
    """Colour ``(H, W, 3)`` of a glossy material: diffuse ``base`` plus ``reflect`` of the environment (with a
    Fresnel rise at grazing angles) plus a sharp highlight of ``power``."""
    fres = reflect + (1.0 - reflect) * (1.0 - np.clip(n[..., 2], 0, 1)) ** 5
    diffuse = np.asarray(base, np.float64) * lambert(n, light, amb)[..., None]
    c = diffuse * (1 - fres[..., None]) + (env_reflection(n) * fres)[..., None]
    return np.clip(c + spec * specular(n, light, power)[..., None], 0, 1)


def mesh_ball(shape: tuple[int, int], centre: np.ndarray, radius: float, pitch: float,
              light: tuple[float, float, float], metal: float = 0.62) -> tuple[np.ndarray, np.ndarray]:
    """A vocal microphone's grille: a sphere of woven wire (two diagonal families wrapped by its curvature) with
    dark foam showing through the holes, mirroring the room. ``centre`` and ``radius`` in grid px, ``pitch`` the
    wire spacing in grid px (coarse enough to survive the scale the asset is placed at). Returns coverage
    ``(H, W)`` and colour ``(H, W, 3)`` on the whole grid (zero outside the ball's box)."""
    H, W = shape
    cov = np.zeros(shape, np.float64)
    col = np.zeros((*shape, 3), np.float64)
    x0, x1 = max(0, int(centre[0] - radius - 2)), min(W, int(centre[0] + radius + 3))
    y0, y1 = max(0, int(centre[1] - radius - 2)), min(H, int(centre[1] + radius + 3))
    if x1 <= x0 or y1 <= y0:
        return cov, col
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    u, v = (xx - centre[0]) / radius, (yy - centre[1]) / radius
    cov[y0:y1, x0:x1] = np.clip((1.0 - np.sqrt(u * u + v * v)) * radius + 0.5, 0, 1)
    n = np.stack([u, v, np.sqrt(np.clip(1 - u * u - v * v, 0, 1))], -1)
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-9)
    wu, wv = np.arcsin(np.clip(u, -1, 1)) * radius, np.arcsin(np.clip(v, -1, 1)) * radius
    wire = np.maximum(np.abs(np.sin((wu + wv) * math.pi / pitch)), np.abs(np.sin((wu - wv) * math.pi / pitch)))
    wire = np.clip((wire - 0.25) / 0.45, 0, 1)
    shine = glossy(np.full(3, metal), n, light, 0.55, 0.45, 30, 0.5)
    foam = np.array([0.04, 0.04, 0.05]) * lambert(n, light, 0.5)[..., None]
    ball = np.clip(foam * (1 - wire[..., None] * 0.9) + shine * wire[..., None] * 0.9, 0, 1)
    col[y0:y1, x0:x1] = np.where((cov[y0:y1, x0:x1] > 0)[..., None], ball, 0.0)
    return cov, col
