"""Limbs drawn out to the image border: a forearm or a handle whose asset ends at a cut goes on past it.

    prem, m = extend_limb(prem, "bottom", m, size)   # premultiplied (h, w, 4) float32 and its 2 x 3 matrix
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from celebamat.synth.placement import compose

#: Longest extension, in asset pixels.
_MAX_EXTEND = 4096

#: Share of an asset's length over which an extended limb's colour profile is averaged.
_EXTEND_BAND = 0.12
#: Most lines of that stretch the average reads (spread over it): enough to average the pixel noise away.
_PROFILE_LINES = 16

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
    (weighted by alpha) over its last stretch (:data:`_EXTEND_BAND` of the asset's length): the shading across
    the arm goes on, while the pixel noise of one line is not drawn out into streaks."""
    scale = math.sqrt(abs(np.linalg.det(m[:, :2])))
    pad = int(min(_MAX_EXTEND, math.ceil(1.5 * size / max(scale, 1e-3))))
    # The profile is read with the edge turned to the bottom (a view, no copy).
    a = _TURNS[edge](prem)
    n = a.shape[0]
    band = int(min(n, max(2, round(_EXTEND_BAND * n))))
    alpha = a[n - 1, :, 3]
    # The colour along the band, weighted by alpha (premultiplied sums over alpha sums, so where the limb narrows
    # up the band its missing pixels weigh nothing), from at most _PROFILE_LINES lines spread over it.
    lines = np.unique(np.linspace(n - band, n - 1, min(band, _PROFILE_LINES)).round().astype(np.intp))
    sums = a[lines].sum(axis=0, dtype=np.float64)
    line = np.empty((a.shape[1], 4), np.float32)  # the extension's one line, premultiplied
    line[:, :3] = sums[:, :3] / np.maximum(sums[:, 3:], 1e-6) * alpha[:, None]
    line[:, 3] = alpha
    # The asset with that line beyond its edge, drawn out by OpenCV's replication: one pass writes the output.
    parts = {"bottom": ([prem, line[None]], 0), "top": ([line[None], prem], 0),
             "right": ([prem, line[:, None]], 1), "left": ([line[:, None], prem], 1)}[edge]
    src = np.concatenate(*parts)
    more = pad - 1
    out = cv2.copyMakeBorder(src, more if edge == "top" else 0, more if edge == "bottom" else 0,
                             more if edge == "left" else 0, more if edge == "right" else 0, cv2.BORDER_REPLICATE)
    top, left = (pad if edge == "top" else 0), (pad if edge == "left" else 0)
    shift = np.array([[1.0, 0.0, -left], [0.0, 1.0, -top]])
    return out, compose(m, shift)
