"""This face's skin colour: a robust CIELAB model fitted on patches of the face, distances to it, and a hue
prior (the hues human skin can have, whatever its tone).
"""

from __future__ import annotations

import cv2
import numpy as np

from celebamat.faces.face_zones import interocular
from celebamat.faces.skin_hair import HAIR_SIDE, hair_side, to_lab


# Mesh points at the centre of patches that are skin on most faces: forehead centre and sides, between the
# brows, upper, mid and lower cheeks on both sides, nose ridge and tip, chin. Any of them can be covered
# (sunglasses, fringe, beard, a face mask), so the colour model is fitted on the largest group of probes
# that agree with each other, not on all of them.
_SKIN_PROBES = (151, 108, 337, 9, 50, 280, 101, 330, 205, 425, 118, 347, 187, 411, 4, 5, 195, 197, 200, 175)
#: The probes above the brows, where a fringe lies.
_FOREHEAD_PROBES = (151, 108, 337, 9)

#: CIELAB lightness units per spread of the skin model, on the dark side (shadows, folds) and the bright side
#: (highlights).
_DARK_L, _BRIGHT_L = 22.0, 45.0


def skin_like(lab: np.ndarray) -> np.ndarray:
    """Whether CIELAB colours (``(..., 3)``, L 0..100) have a hue human skin can have, whatever its tone: a
    chroma of at least 4 and a hue angle from -15 to 100 degrees (red to yellow). Returns bool ``(...)``.
    A blue face mask, a white or grey object, a green plant do not; lips and lipstick do."""
    a, b = lab[..., 1], lab[..., 2]
    hue = np.degrees(np.arctan2(b, a))
    return (np.hypot(a, b) >= 4.0) & (hue >= -15.0) & (hue <= 100.0)


def fit_skin_colour(lab: np.ndarray, landmarks: np.ndarray, hair: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """This face's skin colour: the robust CIELAB median ``(3,)``, the chroma spreads ``(2,)`` (a, b) and
    whether the photo has colour to go by; ``None`` when no probe lies in the image.

    ``lab`` from :func:`celebamat.faces.skin_hair.to_lab`, ``landmarks`` ``(478, 2)`` pixels. Fitted on the
    largest group of :data:`_SKIN_PROBES` that agree with each other. ``hair`` (``(3,)`` CIELAB, from
    :func:`celebamat.faces.skin_hair.scalp_colour`) leaves out the probes that lie on the hair's side of the
    line between the lower face's colour and the hair's (a fringe, a lock over a cheek), while at least four
    probes remain.
    """
    pts = np.asarray(landmarks, np.float64)
    h, w = lab.shape[:2]
    r = max(2, int(round(0.08 * interocular(pts))))
    samples, lower = [], []
    for i in _SKIN_PROBES:
        if i >= len(pts):
            continue
        x, y = int(pts[i, 0]), int(pts[i, 1])
        patch = lab[max(0, y - r): min(h, y + r + 1), max(0, x - r): min(w, x + r + 1)].reshape(-1, 3)
        if len(patch):
            samples.append(patch)
            lower.append(i not in _FOREHEAD_PROBES)
    if not samples:
        return None
    # Keep the probes that agree with the most other probes (the face's dominant skin colour). Lightness
    # counts as in the pixel distance's dark side: in a photo of little colour, probes on a grey-brown fringe
    # and on hair over a cheek differ from the skin in lightness alone, and must not join its model.
    meds = np.array([np.median(p, axis=0) for p in samples])
    dist = np.sqrt((((meds[:, None] - meds[None]) / np.array([_DARK_L, 9.0, 9.0])) ** 2).sum(axis=2))
    # Among probes of a skin hue when there are enough (a face mask or a hand can cover most probes).
    plausible = skin_like(meds)
    coloured = bool(plausible.sum() >= 3)
    if not coloured:
        plausible[:] = True  # a greyscale photo, or a strong colour cast: no hue to go by
    # Probes on hair: judged against the lower face's probes (cheeks, nose, chin), where hair lies least often.
    side = hair_side(meds, np.median(meds[np.array(lower)] if any(lower) else meds, axis=0), hair)
    if side is not None and int((plausible & (side < HAIR_SIDE)).sum()) >= 4:
        plausible &= side < HAIR_SIDE
    votes = np.where(plausible, (dist < 1.0).sum(axis=1), -1)
    keep = (dist[int(np.argmax(votes))] < 1.6) & plausible
    s = np.concatenate([p for p, k in zip(samples, keep) if k])
    med = np.median(s, axis=0)
    within = np.median(np.abs(s - med), axis=0) * 1.4826
    between = np.median(np.abs(meds[keep] - med), axis=0) * 1.4826
    chroma = np.clip(np.hypot(within[1:], between[1:]) * 2.0, 6.0, 12.0)
    return med, chroma, coloured


def skin_distance(image: np.ndarray, landmarks: np.ndarray, hair: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance of every pixel to this face's skin colour in CIELAB, in spreads, and how much darker than
    the skin it is, in the same spreads (0 where lighter): two ``(H, W)`` float32 maps >= 0; and the hue
    class, ``(H, W)`` uint8: 0 = a hue skin can have (:func:`skin_like`), 1 = nearly no hue (grey, white,
    black), 2 = foreign, a clear hue skin never has; all 0 in a photo without colour.

    The model (:func:`fit_skin_colour`; ``hair`` as there) is robust (medians) over patches around
    :data:`_SKIN_PROBES` that agree with each other. The
    chroma spread adds the spread between the probes (red cheeks against a pale forehead) to the spread
    inside them, with a floor wide enough for blotchy, wrinkled or sun-tanned skin. Lightness counts
    weakly: 22 L units per spread on the dark side (shadows, folds and wrinkles are skin, black hair is
    far darker still) and 45 on the bright side (highlights).
    """
    lab = to_lab(image)
    dist, dark, hue, _ = lab_skin_distance(lab, landmarks, hair)
    return dist, dark, hue


def lab_skin_distance(lab: np.ndarray, landmarks: np.ndarray, hair: np.ndarray | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`skin_distance` on a CIELAB image (:func:`celebamat.faces.skin_hair.to_lab`), with the skin
    model's median colour ``(3,)`` as a fourth value (``None`` when no probe lies in the image)."""
    h, w = lab.shape[:2]
    fit = fit_skin_colour(lab, landmarks, hair)
    if fit is None:
        return np.zeros((h, w), np.float32), np.zeros((h, w), np.float32), np.zeros((h, w), np.uint8), None
    med, chroma, coloured = fit
    dl = lab[..., 0] - med[0]
    dl = np.where(dl < 0, dl / _DARK_L, dl / _BRIGHT_L)
    d2 = dl ** 2 + ((lab[..., 1] - med[1]) / chroma[0]) ** 2 + ((lab[..., 2] - med[2]) / chroma[1]) ** 2
    hue = np.zeros((h, w), np.uint8)
    if coloured:
        hue[~skin_like(lab)] = 1
        hue[(hue == 1) & (np.hypot(lab[..., 1], lab[..., 2]) >= 6.0)] = 2
    return np.sqrt(d2).astype(np.float32), np.maximum(-dl, 0.0).astype(np.float32), hue, med


def skin_color_probability(
    image: np.ndarray, landmarks: np.ndarray, tolerance: float = 2.8
) -> np.ndarray:
    """Per-pixel agreement with this face's own skin colour, ``(H, W)`` float32 in [0, 1].

    A robust CIELAB colour model (see :func:`skin_distance`), fitted on patches
    over the forehead, cheeks, nose and chin. ``tolerance`` is the distance (in spreads) where the
    probability is 0.5.
    """
    d = skin_distance(image, landmarks)[0]
    return (1.0 / (1.0 + np.exp((d - tolerance) * 3.0))).astype(np.float32)


def local_texture(gray: np.ndarray, k: int) -> np.ndarray:
    """Local standard deviation of ``gray`` (``(H, W)`` float32) over ``k`` x ``k`` boxes: hair strands are
    rough, skin is smooth at this scale."""
    m = cv2.blur(gray, (k, k))
    return np.sqrt(np.maximum(cv2.blur(gray * gray, (k, k)) - m * m, 0.0))
