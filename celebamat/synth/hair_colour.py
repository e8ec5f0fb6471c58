"""Hair from the person: the colour of a face's own hair, read around its upper outline.

Synthetic fringes and locks are recoloured towards it at compositing time
(:func:`celebamat.synth.realism.tone_transfer`, lightness included), so a fringe is the colour of the hair it
grows from. A pure function of the face; ``None`` when no hair can be told from the background.
"""

from __future__ import annotations

import cv2
import numpy as np



#: A band colour closer than this (CIE76 distance in Lab) to the face's skin colour is skin the matte missed (a
#: forehead, a bald head), not hair.
_MIN_SKIN_DISTANCE = 18.0


def hair_lab(image: np.ndarray, skin: np.ndarray, eyes_center: np.ndarray, down: np.ndarray,
             iod: float, skin_lab: np.ndarray | None = None) -> np.ndarray | None:
    """Median CIE-Lab colour ``(3,)`` float32 of the hair around the top of a face, or ``None``.

    Args:
        image: ``(s, s, 3)`` float32 RGB in [0, 1], the photo at any (reduced) resolution, for example
            :func:`celebamat.synth.realism.reading_copy`'s.
        skin: ``(s, s)`` float in [0, 1], the skin matte at the same resolution.
        eyes_center: ``(2,)`` point between the eyes, in pixels of ``image``; ``down``: unit ``(2,)``
            forehead-to-chin vector.
        iod: inter-ocular distance in pixels of ``image``.
        skin_lab: the face's skin colour (Lab), to tell hair from skin the matte missed.

    The band read lies outside the skin, between 0.06 and 0.3 inter-ocular distances from it, above the eyes
    (the temples and the top of the head). Its darkest two thirds are taken (hair is usually darker than what
    lies behind it). ``None`` when fewer than 40 band pixels exist, their median is near-white (L > 88: a
    bright background, a bald head against the sky) or, given ``skin_lab``, within
    :data:`_MIN_SKIN_DISTANCE` of it (skin the matte missed).
    """
    side = image.shape[0]
    sk8 = (np.asarray(skin) > 0.3).astype(np.uint8)
    r_in, r_out = max(1, int(round(0.06 * iod))), max(2, int(round(0.3 * iod)))
    outer = cv2.dilate(sk8, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r_out + 1, 2 * r_out + 1)))
    inner = cv2.dilate(sk8, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r_in + 1, 2 * r_in + 1)))
    ys, xs = np.mgrid[0:side, 0:side].astype(np.float64)
    along = (xs + 0.5 - eyes_center[0]) * down[0] + (ys + 0.5 - eyes_center[1]) * down[1]
    band = (outer > 0) & (inner == 0) & (along < -0.3 * iod)
    if int(band.sum()) < 40:
        return None
    lab = cv2.cvtColor(np.ascontiguousarray(image, dtype=np.float32), cv2.COLOR_RGB2Lab)[band]
    keep = lab[:, 0] <= np.quantile(lab[:, 0], 0.67)
    med = np.median(lab[keep], axis=0).astype(np.float32)
    if med[0] > 88.0:
        return None
    if skin_lab is not None and float(np.linalg.norm(med - np.asarray(skin_lab, np.float32))) < _MIN_SKIN_DISTANCE:
        return None
    return med
