"""The hair's own colour, read above the hairline, and which pixels of the face look like it.

A fringe or a lock over a cheek often differs from the skin mainly in lightness: in a photo of little colour
(a desaturated portrait, brown hair over pale skin) the skin model of :mod:`celebamat.faces.skin_colour`,
which must let shadows through, cannot tell it from shaded skin. The head above the hairline says what the
hair looks like in this photo; a pixel of the face that sits nearer that colour than the skin's, along the line
between the two, is hair (or the hat, if one is worn).
"""

from __future__ import annotations

import cv2
import numpy as np

from celebamat.faces.face_zones import extended_polygon, face_axes
from celebamat.landmarks import FACE_OVAL

#: Smallest CIELAB distance between the scalp's and the skin's colour for the scalp to count as hair: below it
#: the head is bald, or the hair is as light as the skin and colour cannot separate them.
MIN_SEPARATION = 18.0
#: How much darker (CIELAB L) than the skin the scalp must be. Hair as light as the skin or lighter (blond or
#: grey over tanned skin) differs from it in hue, which the skin model already sees; and a light scalp taken
#: against a face whose lower half is dark (sunglasses, a beard) would turn the skin itself into "hair".
MIN_DARKER = 15.0
#: Share of the way from the skin's colour to the hair's (projected on the line between them) past which a pixel
#: is hair.
HAIR_SIDE = 0.6


def to_lab(image: np.ndarray) -> np.ndarray:
    """CIELAB of an ``(H, W, 3)`` uint8 RGB image, float32 ``(H, W, 3)``: L in 0..100, a and b around 0."""
    lab = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    return lab


def scalp_colour(image: np.ndarray, landmarks: np.ndarray, person: np.ndarray) -> np.ndarray | None:
    """Median CIELAB colour of the head just above the hairline (hair, a hat or a bald scalp), ``(3,)``, or
    ``None`` when too little of that band is in the photo and on the person.

    Sampled in patches just above the top of :func:`extended_polygon` (the oval grown to a typical hairline),
    only where ``person`` (``(H, W)`` float in [0, 1], the person mask) is above 0.5, so that background is
    never taken for hair. ``image`` ``(H, W, 3)`` uint8 RGB, ``landmarks`` ``(478, 2)`` pixels.
    """
    pts = np.asarray(landmarks, np.float64)
    up, _, iod = face_axes(pts)
    h, w = image.shape[:2]
    top = extended_polygon(pts)
    # The upper third of the grown oval: its points that moved up the most.
    rise = (top - pts[list(FACE_OVAL)]) @ up
    crown = top[rise > 0.6 * rise.max()] if rise.max() > 0 else top[:0]
    r = max(2, int(round(0.1 * iod)))
    samples = []
    for c in crown + 0.2 * iod * up:
        x, y = int(round(c[0])), int(round(c[1]))
        y0, y1, x0, x1 = max(0, y - r), min(h, y + r + 1), max(0, x - r), min(w, x + r + 1)
        if y1 <= y0 or x1 <= x0:
            continue
        on = person[y0:y1, x0:x1] > 0.5
        if on.mean() > 0.5:
            samples.append(to_lab(image[y0:y1, x0:x1])[on])
    if len(samples) < 2:
        return None
    return np.median(np.concatenate(samples), axis=0)


def hair_side(lab: np.ndarray, skin: np.ndarray, hair: np.ndarray | None) -> np.ndarray | None:
    """How far each colour of ``lab`` (``(..., 3)``) lies from ``skin`` towards ``hair`` (both ``(3,)``), as a
    share of the way along the line between them (0 at the skin, 1 at the hair; ``(...)`` float32), or ``None``
    when there is no hair colour, or it is within :data:`MIN_SEPARATION` of the skin's, or less than
    :data:`MIN_DARKER` darker."""
    if hair is None:
        return None
    axis = np.asarray(hair, np.float32) - np.asarray(skin, np.float32)
    gap = float(np.dot(axis, axis))
    if gap < MIN_SEPARATION ** 2 or axis[0] > -MIN_DARKER:
        return None
    return ((lab - np.asarray(skin, np.float32)) @ axis / gap).astype(np.float32)
