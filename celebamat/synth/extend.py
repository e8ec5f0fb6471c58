"""Limbs drawn out to the image border: a forearm or a handle whose asset ends at a cut goes on past it.

    prem, m = extend_limb(prem, "bottom", m, size)   # premultiplied (h, w, 4) float32 and its 2 x 3 matrix
"""

from __future__ import annotations

import math

import numpy as np

from celebamat.synth.placement import compose

#: Longest extension, in asset pixels.
_MAX_EXTEND = 4096

#: Share of an asset's length over which an extended limb's colour profile is averaged.
_EXTEND_BAND = 0.12

#: Per edge: a view of an ``(h, w, c)`` asset turned so that edge is at the bottom.
_TURNS = {
    "bottom": lambda a: a,
    "top": lambda a: a[::-1],
    "right": lambda a: a.transpose(1, 0, 2),
    "left": lambda a: a.transpose(1, 0, 2)[::-1],
}


def extend_limb(prem: np.ndarray, edge: str, m: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Extend a premultiplied asset beyond ``edge`` so a limb (a forearm, a handle) reaches the image border.

    The outline goes on straight (the edge's alpha repeated); the colour is the limb's profile across, averaged
    over its last stretch (:data:`_EXTEND_BAND` of the asset's length): the shading across the arm goes on,
    while the pixel noise of one line is not drawn out into streaks."""
    scale = math.sqrt(abs(np.linalg.det(m[:, :2])))
    pad = int(min(_MAX_EXTEND, math.ceil(1.5 * size / max(scale, 1e-3))))
    # The profile is read with the edge turned to the bottom (a view, no copy).
    a = _TURNS[edge](prem)
    n = a.shape[0]
    band = int(min(n, max(2, round(_EXTEND_BAND * n))))
    alpha = a[n - 1, :, 3]
    colour = a[n - band:, :, :3] / np.maximum(a[n - band:, :, 3:], 1e-6)
    held = a[n - band:, :, 3] > 0.5 * np.maximum(alpha[None, :], 1e-6)
    weight = held.astype(np.float32)[..., None]
    profile = (colour * weight).sum(0) / np.maximum(weight.sum(0), 1.0)
    profile = np.where(weight.sum(0) > 0, profile, colour[-1])
    line = np.empty((a.shape[1], 4), np.float32)  # the extension's one line, premultiplied
    line[:, :3] = profile * alpha[:, None]
    line[:, 3] = alpha
    # Written straight into the asset's own layout: one copy of the asset and one broadcast of the line.
    h, w = prem.shape[:2]
    if edge in ("top", "bottom"):
        out = np.empty((h + pad, w, 4), np.float32)
        keep, fill = (slice(pad, None), slice(0, pad)) if edge == "top" else (slice(0, h), slice(h, None))
        out[keep], out[fill] = prem, line[None]
    else:
        out = np.empty((h, w + pad, 4), np.float32)
        keep, fill = (slice(pad, None), slice(0, pad)) if edge == "left" else (slice(0, w), slice(w, None))
        out[:, keep], out[:, fill] = prem, line[:, None]
    top, left = (pad if edge == "top" else 0), (pad if edge == "left" else 0)
    shift = np.array([[1.0, 0.0, -left], [0.0, 1.0, -top]])
    return out, compose(m, shift)
