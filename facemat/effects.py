"""Occlusion-aware face effects: restyle the face, then composite it back through the predicted matte.

An effect transforms a whole frame (``stylize``); :func:`apply_effect` keeps the result only where the
matte says "visible face skin"::

    out = alpha * effect(image) + (1 - alpha) * image

so hands, hair, glasses and anything else in front of the face stay in front of the effect, as in the
paper's face-filter use case. Effects that need the face geometry (make-up) receive the landmarks.

Effects (:data:`EFFECTS`):
    ``recolor``: skin recoloured to a tint (default a blue "avatar" skin), keeping its shading.
    ``cartoon``: edge-preserving flattening, colour quantisation and dark outlines.
    ``makeup``: lipstick on the lips and blush on the cheeks, placed from the landmarks.
    ``smooth``: beauty smoothing (edge-preserving blur) of the skin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from celebamat.landmarks import LIPS_OUTER, face_anchors, face_frame

#: Inner lip contour (mediapipe indices), cut out of the lipstick so open mouths keep their teeth.
LIPS_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)

Effect = Callable[[np.ndarray, Sequence[np.ndarray]], np.ndarray]


def recolor(image: np.ndarray, faces: Sequence[np.ndarray] = (), color: tuple[int, int, int] = (70, 130, 230),
            amount: float = 0.85) -> np.ndarray:
    """Recolour to ``color`` (RGB) keeping lightness: the chroma of the whole frame is moved towards the
    chroma of ``color`` by ``amount`` in [0, 1] (CIE Lab). ``(H, W, 3)`` uint8 RGB in and out."""
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    target = cv2.cvtColor(np.array([[color]], np.uint8), cv2.COLOR_RGB2LAB)[0, 0].astype(np.float32)
    lab[..., 1:] = lab[..., 1:] * (1 - amount) + target[1:] * amount
    # Lift very dark and very bright skin slightly towards the tint's lightness, so the colour reads.
    lab[..., 0] = lab[..., 0] * 0.8 + target[0] * 0.2
    return cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def cartoon(image: np.ndarray, faces: Sequence[np.ndarray] = (), levels: int = 6) -> np.ndarray:
    """Flat colours (repeated bilateral filtering at half size, ``levels`` lightness steps) and dark outlines
    (adaptive threshold of the blurred grey image). ``(H, W, 3)`` uint8 RGB in and out."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    for _ in range(3):
        small = cv2.bilateralFilter(small, 7, 40, 7)
    flat = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    lab = cv2.cvtColor(flat, cv2.COLOR_RGB2LAB).astype(np.float32)
    step = 255.0 / max(levels, 2)
    lab[..., 0] = (np.floor(lab[..., 0] / step) + 0.5) * step
    flat = cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
    gray = cv2.medianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), 7)
    block = max(3, (min(h, w) // 40) | 1)
    edges = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 7)
    # Drop isolated dark specks (pores, stubble, noise): outlines should be lines, not dots.
    edges = cv2.medianBlur(edges, 5)
    edges = cv2.GaussianBlur(edges, (3, 3), 0).astype(np.float32)[..., None] / 255.0
    return np.clip(flat.astype(np.float32) * (0.25 + 0.75 * edges), 0, 255).astype(np.uint8)


def _poly_mask(shape: tuple[int, int], points: np.ndarray, value: float = 1.0,
               mask: np.ndarray | None = None) -> np.ndarray:
    mask = np.zeros(shape, np.float32) if mask is None else mask
    cv2.fillPoly(mask, [np.round(points * 4).astype(np.int32)], value, lineType=cv2.LINE_AA, shift=2)
    return mask


def makeup(image: np.ndarray, faces: Sequence[np.ndarray] = (), lip_color: tuple[int, int, int] = (190, 20, 60),
           blush_color: tuple[int, int, int] = (235, 90, 110), strength: float = 0.6) -> np.ndarray:
    """Lipstick on the lips (outer minus inner lip contour) and a soft blush on each cheek, for every face's
    ``(478, 2)`` landmarks, blended in with soft-light-like tinting. ``(H, W, 3)`` uint8 RGB in and out."""
    h, w = image.shape[:2]
    lips = np.zeros((h, w), np.float32)
    blush = np.zeros((h, w), np.float32)
    for lm in faces:
        pts = np.asarray(lm, np.float64)
        frame = face_frame(pts)
        _poly_mask((h, w), pts[list(LIPS_OUTER)], 1.0, lips)
        _poly_mask((h, w), pts[list(LIPS_INNER)], 0.0, lips)
        a = face_anchors(pts)
        radius = 0.32 * frame.iod
        for side in ("cheek_left", "cheek_right"):
            c = a[side] - 0.15 * frame.iod * frame.down  # slightly up the cheekbone
            cv2.circle(blush, (int(round(c[0])), int(round(c[1]))), max(1, int(round(radius))), 1.0, -1, cv2.LINE_AA)
    if not faces:
        return image.copy()
    scale = max(1.0, float(np.mean([face_frame(np.asarray(f, np.float64)).iod for f in faces])))
    lips = cv2.GaussianBlur(lips, (0, 0), max(0.6, scale / 60))
    blush = cv2.GaussianBlur(blush, (0, 0), max(1.0, scale / 5)) * 0.5
    img = image.astype(np.float32)
    # Tint multiplies the colour in, keeping the texture and shading underneath.
    out = img
    for mask, color in ((blush, blush_color), (lips, lip_color)):
        tinted = img * (np.asarray(color, np.float32) / 255.0) * 1.25
        m = (mask * strength)[..., None]
        out = out * (1 - m) + tinted * m
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def smooth(image: np.ndarray, faces: Sequence[np.ndarray] = ()) -> np.ndarray:
    """Beauty smoothing: a strong edge-preserving blur blended with the photo. ``(H, W, 3)`` uint8 RGB."""
    d = max(5, (min(image.shape[:2]) // 80) | 1)
    blurred = cv2.bilateralFilter(image, d, 35, d)
    return cv2.addWeighted(blurred, 0.8, image, 0.2, 0)


#: Effects by name: ``fn(image (H, W, 3) uint8 RGB, faces: list of (478, 2) landmarks) -> (H, W, 3) uint8``.
EFFECTS: dict[str, Effect] = {"recolor": recolor, "cartoon": cartoon, "makeup": makeup, "smooth": smooth}


def composite(image: np.ndarray, styled: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``alpha * styled + (1 - alpha) * image`` for ``(H, W, 3)`` uint8 images and an ``(H, W)`` matte in [0, 1]."""
    if styled.shape != image.shape or alpha.shape != image.shape[:2]:
        raise ValueError(f"shapes differ: image {image.shape}, styled {styled.shape}, alpha {alpha.shape}")
    a = np.clip(alpha, 0.0, 1.0)[..., None]
    out = image.astype(np.float32) * (1 - a) + styled.astype(np.float32) * a
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def apply_effect(name: str, image: np.ndarray, alpha: np.ndarray, faces: Sequence[np.ndarray] = ()) -> np.ndarray:
    """Apply the effect ``name`` to the face and composite it back through the matte.

    Args:
        name: one of :data:`EFFECTS`.
        image: ``(H, W, 3)`` uint8 RGB frame.
        alpha: ``(H, W)`` float32 matte in [0, 1] (1 = visible skin) from :class:`facemat.predict.Predictor`.
        faces: ``(478, 2)`` landmarks of the faces (used by ``makeup``).

    Returns:
        ``(H, W, 3)`` uint8 RGB: the effect where the face skin is visible, the photo elsewhere.
    """
    if name not in EFFECTS:
        raise ValueError(f"unknown effect {name!r}; choose one of {', '.join(sorted(EFFECTS))}")
    if alpha.shape != image.shape[:2]:
        raise ValueError(f"alpha shape {alpha.shape} does not match image shape {image.shape[:2]}")
    ys, xs = np.nonzero(alpha > 1.0 / 255)
    if ys.size == 0:
        return image.copy()  # no visible skin: nothing to restyle (and no time spent restyling)
    # Restyle only the box around the visible skin (plus a margin for the filters' reach): the effect of a
    # small face in a large frame then costs as much as the face.
    h, w = alpha.shape
    pad = 16
    x0, y0 = max(0, int(xs.min()) - pad), max(0, int(ys.min()) - pad)
    x1, y1 = min(w, int(xs.max()) + pad + 1), min(h, int(ys.max()) + pad + 1)
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    shifted = [np.asarray(f, np.float64) - (x0, y0) for f in faces]
    styled = EFFECTS[name](crop, shifted)
    out = image.copy()
    out[y0:y1, x0:x1] = composite(crop, styled, alpha[y0:y1, x0:x1])
    return out
