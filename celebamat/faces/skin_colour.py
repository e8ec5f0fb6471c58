"""This face's skin colour: a robust CIELAB model fitted on patches of the face, distances to it, and a hue
prior (the hues human skin can have, whatever its tone).
"""

from __future__ import annotations

import cv2
import numpy as np

from celebamat.faces.face_zones import interocular


# Mesh points at the centre of patches that are skin on most faces: forehead centre and sides, between the
# brows, upper, mid and lower cheeks on both sides, nose ridge and tip, chin. Any of them can be covered
# (sunglasses, fringe, beard, a face mask), so the colour model is fitted on the largest group of probes
# that agree with each other, not on all of them.
_SKIN_PROBES = (151, 108, 337, 9, 50, 280, 101, 330, 205, 425, 118, 347, 187, 411, 4, 5, 195, 197, 200, 175)

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


def skin_distance(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance of every pixel to this face's skin colour in CIELAB, in spreads, and how much darker than
    the skin it is, in the same spreads (0 where lighter): two ``(H, W)`` float32 maps >= 0; and the hue
    class, ``(H, W)`` uint8: 0 = a hue skin can have (:func:`skin_like`), 1 = nearly no hue (grey, white,
    black), 2 = foreign, a clear hue skin never has; all 0 in a photo without colour.

    The model is robust (medians) over patches around :data:`_SKIN_PROBES` that agree with each other. The
    chroma spread adds the spread between the probes (red cheeks against a pale forehead) to the spread
    inside them, with a floor wide enough for blotchy, wrinkled or sun-tanned skin. Lightness counts
    weakly: 22 L units per spread on the dark side (shadows, folds and wrinkles are skin, black hair is
    far darker still) and 45 on the bright side (highlights).
    """
    pts = np.asarray(landmarks, np.float64)
    h, w = image.shape[:2]
    lab = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2LAB).astype(np.float32)
    # 8-bit Lab: L scaled to 0..255, a and b offset by 128.
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    r = max(2, int(round(0.08 * interocular(pts))))
    samples = []
    for i in _SKIN_PROBES:
        if i >= len(pts):
            continue
        x, y = int(pts[i, 0]), int(pts[i, 1])
        patch = lab[max(0, y - r): min(h, y + r + 1), max(0, x - r): min(w, x + r + 1)].reshape(-1, 3)
        if len(patch):
            samples.append(patch)
    if not samples:
        return np.zeros((h, w), np.float32), np.zeros((h, w), np.float32), np.zeros((h, w), np.uint8)
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
    votes = np.where(plausible, (dist < 1.0).sum(axis=1), -1)
    keep = (dist[int(np.argmax(votes))] < 1.6) & plausible
    s = np.concatenate([p for p, k in zip(samples, keep) if k])
    med = np.median(s, axis=0)
    within = np.median(np.abs(s - med), axis=0) * 1.4826
    between = np.median(np.abs(meds[keep] - med), axis=0) * 1.4826
    chroma = np.clip(np.hypot(within[1:], between[1:]) * 2.0, 6.0, 12.0)
    dl = lab[..., 0] - med[0]
    dl = np.where(dl < 0, dl / _DARK_L, dl / _BRIGHT_L)
    d2 = dl ** 2 + ((lab[..., 1] - med[1]) / chroma[0]) ** 2 + ((lab[..., 2] - med[2]) / chroma[1]) ** 2
    hue = np.zeros((h, w), np.uint8)
    if coloured:
        hue[~skin_like(lab)] = 1
        hue[(hue == 1) & (np.hypot(lab[..., 1], lab[..., 2]) >= 6.0)] = 2
    return np.sqrt(d2).astype(np.float32), np.maximum(-dl, 0.0).astype(np.float32), hue


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
