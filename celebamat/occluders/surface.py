"""One skin surface from many body parts: a height field with smooth joins, shaded once.

A hand drawn part by part (finger capsules pasted on a palm slab) reads as a jointed mannequin: every part has
its own outline, its own shading and a seam where it meets the next. Here every part only contributes *heights*
(and their normals) to one :class:`Surface`; where two parts of one body meet at similar heights (a finger's
base and the palm, the palm and the wrist) a polynomial smooth maximum merges them into one rounded surface,
and where one lies well above another (a curled finger in front of the palm) the higher one simply wins, which
leaves a crisp occlusion contour. The surface is then shaded once (:func:`shade_skin`): wrapped diffuse light,
occlusion from the height field (valleys between fingers, the palm under a finger), warmer shadows and rims
(light scattered under skin) and a faint sheen.

All arrays are float64 on the supersampled grid of the asset (x right, y down, heights towards the viewer, in
grid px); only ``+ * max sqrt`` and OpenCV filters are used so that the output is the same on every CPU.
"""

from __future__ import annotations

import cv2
import numpy as np

from celebamat.occluders.draw import soft, soft_coarse

#: Height of "nothing here": far below any part.
_FLOOR = -1e9


class Surface:
    """A height field ``(H, W)`` built part by part, with its unit normals, coverage and which part is on top.

    ``label`` holds the id of the part that owns each pixel (0 = none). Parts are added with :meth:`add`.
    """

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = shape
        self.height = np.full(shape, _FLOOR, np.float64)
        self.normal = np.zeros((*shape, 3), np.float64)
        self.normal[..., 2] = 1.0
        self.cov = np.zeros(shape, np.float64)
        self.label = np.zeros(shape, np.int32)
        self.along = np.zeros(shape, np.float64)  # the owning part's axis parameter in [0, 1] (capsules)

    def add(self, label: int, box: tuple[int, int, int, int], cov: np.ndarray, height: np.ndarray,
            normal: np.ndarray, along: np.ndarray | None = None, blend: float = 0.0,
            blend_with: tuple[int, ...] = ()) -> None:
        """Merge a part given on the window ``box = (y0, y1, x0, x1)``.

        ``cov`` ``(h, w)`` in [0, 1], ``height`` ``(h, w)`` (any value where ``cov`` is 0), ``normal``
        ``(h, w, 3)``. Where the pixel already belongs to a part in ``blend_with`` the two heights meet through a
        smooth maximum of width ``blend`` grid px (normals mixed in the same proportion); elsewhere the higher
        part wins.
        """
        y0, y1, x0, x1 = box
        sl = (slice(y0, y1), slice(x0, x1))
        inside = cov > 0
        old_h, old_lab = self.height[sl], self.label[sl]
        k = np.where(np.isin(old_lab, blend_with), blend, 0.0) + 1e-9
        new_h = np.where(inside, height, _FLOOR)
        # Polynomial smooth maximum: mix(old, new, w) + k w (1 - w), w the new part's share.
        w = np.clip(0.5 + 0.5 * (new_h - old_h) / k, 0.0, 1.0)
        both = inside & (old_lab > 0)
        merged = np.where(both, old_h + w * (new_h - old_h) + k * w * (1.0 - w), np.maximum(old_h, new_h))
        w = np.where(both, w, (new_h > old_h).astype(np.float64))
        n = self.normal[sl] * (1.0 - w[..., None]) + normal * w[..., None]
        n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
        self.height[sl] = merged
        self.normal[sl] = n
        self.cov[sl] = np.maximum(self.cov[sl], cov)
        wins = w > 0.5
        self.label[sl] = np.where(wins, label, old_lab)
        if along is not None:
            self.along[sl] = np.where(wins, along, self.along[sl])

    def occlusion(self, radius: float, depth: float) -> np.ndarray:
        """Ambient occlusion ``(H, W)`` in [0, 1]: how far each pixel lies below the mean height around it
        (``radius`` grid px), in units of ``depth`` grid px. High in the valleys between fingers and on the palm
        beside a finger that lies on it; 0 on ridges and open surfaces."""
        h = np.where(self.cov > 0, self.height, 0.0)
        lo = float(h[self.cov > 0].min()) if np.any(self.cov > 0) else 0.0
        h = np.where(self.cov > 0, h, lo)
        return np.clip((soft_coarse(h, radius) - h) / max(depth, 1e-6), 0.0, 1.0)


    def contact(self, reach: float, step: float) -> np.ndarray:
        """Contact lines ``(H, W)`` in [0, 1]: pixels within ``reach`` grid px of a part lying at least ``step``
        grid px higher (the palm along the edge of a finger in front of it), where little light gets in."""
        h = np.where(self.cov > 0, self.height, _FLOOR)
        k = max(3, 2 * int(round(reach)) + 1)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        above = cv2.dilate(h, kernel) - h
        line = np.clip(above / max(step, 1e-6) - 1.0, 0.0, 1.0) * (self.cov > 0)
        return soft(line, 0.5 * reach)


def wrap_diffuse(n: np.ndarray, light: tuple[float, float, float], wrap: float = 0.5) -> np.ndarray:
    """Diffuse light ``(H, W)`` in [0, 1] with *wrap*: light reaches past the terminator by ``wrap`` as it does
    on skin, which scatters it under the surface (plain Lambert gives skin a hard plaster-like falloff)."""
    l = np.asarray(light, np.float64)
    l = l / np.linalg.norm(l)
    return np.clip((n @ l + wrap) / (1.0 + wrap), 0.0, 1.0)


def shade_skin(surface: Surface, albedo: np.ndarray, light: tuple[float, float, float], *, ambient: float = 0.38,
               occlusion: np.ndarray | None = None, contact: np.ndarray | None = None,
               sheen: np.ndarray | None = None) -> np.ndarray:
    """Straight colour ``(H, W, 3)`` in [0, 1] of skin with ``albedo`` ``(H, W, 3)`` on ``surface``.

    Shadowed and grazing parts turn warmer, not greyer (red light travels furthest under skin); ``occlusion``
    (from :meth:`Surface.occlusion`) and ``contact`` (:meth:`Surface.contact`) darken the same warm way;
    ``sheen`` ``(H, W)`` is a faint broad highlight (sebum), added to all channels.
    """
    d = ambient + (1.0 - ambient) * wrap_diffuse(surface.normal, light)
    # Occlusion and contact lines describe the same missing light: the stronger of the two, not their product.
    dark = np.zeros_like(d)
    if occlusion is not None:
        dark = np.maximum(dark, 0.4 * occlusion)
    if contact is not None:
        dark = np.maximum(dark, 0.3 * contact)
    d = d * (1.0 - dark)
    # Per-channel response: red falls off slower than green, blue faster, so shadows stay reddish.
    d3 = np.stack([d * (1.3 - 0.3 * d), d, d * (0.75 + 0.25 * d)], -1)
    rim = np.clip(1.0 - surface.normal[..., 2], 0.0, 1.0) ** 2
    out = albedo * d3
    out = out + (rim * 0.05)[..., None] * np.array([0.9, 0.25, 0.15])
    if sheen is not None:
        out = out + sheen[..., None]
    return np.clip(out, 0.0, 1.0)
