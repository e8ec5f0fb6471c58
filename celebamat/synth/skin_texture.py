"""Skin from the photo: a hand gets the colour, pores, grain and blur of the face it covers.

A square patch of the face's own cheek (or forehead) skin is cut out; its fine detail (the patch divided by its
blur: pores, fine mottling, the photo's grain and compression, ratios around 1) is tiled by mirroring over a
warped hand and multiplies its colour. The hand's colour itself comes from
:func:`celebamat.synth.realism.tone_transfer` towards the same face's skin. All pure functions of the face and
the sample's params; nothing here draws random numbers.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Candidate patch centres, in order of preference: the cheeks then the forehead.
_PATCH_ANCHORS = ("cheek_left", "cheek_right", "forehead")


#: A patch whose blurred luminance is steeper than this somewhere (98th percentile of the slope, sRGB levels in
#: [0, 1] per pixel) holds an edge (a frame, a shadow line, a strand of hair) rather than skin and its shading.
_MAX_PATCH_SLOPE = 0.03


def skin_patch_box(skin: np.ndarray, anchors: dict[str, np.ndarray], iod: float, prefer: int = 0,
                   image: np.ndarray | None = None) -> tuple[int, int, int, int] | None:
    """A square box ``(x0, y0, x1, y1)`` of pure skin about 0.4 inter-ocular distances wide.

    Candidates are centred on the cheeks (moved a little towards the nose, off the cheekbone's edge) and the
    forehead; the first, starting from candidate ``prefer``, whose skin matte is above 0.97 everywhere (and,
    given the ``(S, S, 3)`` float32 ``image``, whose blurred luminance is nowhere steeper than
    :data:`_MAX_PATCH_SLOPE`: no edge of glasses, shadow or hair the matte missed) is returned, ``None`` when
    none is.
    """
    size = skin.shape[0]
    half = max(6, int(round(0.2 * iod)))
    centre = anchors.get("nose_tip", anchors["face_center"])
    names = _PATCH_ANCHORS[prefer % len(_PATCH_ANCHORS):] + _PATCH_ANCHORS[: prefer % len(_PATCH_ANCHORS)]
    for name in names:
        p = np.asarray(anchors[name], np.float64)
        if name != "forehead":
            p = p + 0.15 * (centre - p)
        else:
            p = p + np.array([0.0, 0.1 * iod])
        cx, cy = int(round(p[0])), int(round(p[1]))
        x0, y0, x1, y1 = cx - half, cy - half, cx + half, cy + half
        if x0 < 0 or y0 < 0 or x1 > size or y1 > size:
            continue
        if float(np.min(skin[y0:y1, x0:x1])) <= 0.97:
            continue
        if image is not None:
            lum = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1], dtype=np.float32), cv2.COLOR_RGB2GRAY)
            lum = cv2.GaussianBlur(lum, (0, 0), 2.0)
            slope = cv2.magnitude(cv2.Sobel(lum, cv2.CV_32F, 1, 0, ksize=3, scale=0.125),
                                  cv2.Sobel(lum, cv2.CV_32F, 0, 1, ksize=3, scale=0.125))
            if float(np.quantile(slope[2:-2, 2:-2], 0.98)) > _MAX_PATCH_SLOPE:
                continue
        return x0, y0, x1, y1
    return None


def skin_detail(image: np.ndarray, box: tuple[int, int, int, int], sigma: float) -> np.ndarray:
    """Fine detail of a skin patch: ``patch / blur(patch)`` per colour channel, float32 ``(h, w, 4)`` around 1
    (the fourth channel is 1, so the detail multiplies a premultiplied RGBA occluder without touching its alpha).

    ``image`` is ``(S, S, 3)`` float32 in [0, 1]; ``sigma`` the blur in pixels separating detail from shading.
    Ratios are clipped to [0.8, 1.2] (a stray hair or freckle edge never becomes a hole) and the patch's mean
    brought to exactly 1.
    """
    x0, y0, x1, y1 = box
    patch = np.ascontiguousarray(image[y0:y1, x0:x1], dtype=np.float32)
    k = int(2 * np.ceil(3 * sigma) + 1)
    low = cv2.GaussianBlur(patch, (k, k), sigma, borderType=cv2.BORDER_REFLECT101)
    ratio = patch / np.maximum(low, np.float32(0.02))
    np.clip(ratio, 0.8, 1.2, out=ratio)
    ratio /= ratio.reshape(-1, 3).astype(np.float64).mean(0).astype(np.float32)
    return cv2.merge([*cv2.split(ratio), np.ones(ratio.shape[:2], np.float32)])


def _mirrored_index(n: int, start: int, period: int) -> np.ndarray:
    """Indices ``start .. start + n - 1`` into a length ``period`` mirrored at its ends: ``0 .. period - 1`` then
    back down, repeating every ``2 * period``."""
    i = (start + np.arange(n)) % (2 * period)
    return np.where(i < period, i, 2 * period - 1 - i)


def mirrored_tile(detail: np.ndarray, shape: tuple[int, int], offset: tuple[int, int]) -> np.ndarray:
    """Cover ``shape = (h, w)`` with ``detail`` (``(ph, pw, c)``) mirrored at its borders (no visible seams),
    starting ``offset = (oy, ox)`` pixels into the mirrored period (``2 ph`` by ``2 pw``). Returns ``(h, w, c)``
    float32, gathered row by row and column by column (no tiled copy larger than the result)."""
    h, w = shape
    rows = _mirrored_index(h, offset[0], detail.shape[0])
    cols = _mirrored_index(w, offset[1], detail.shape[1])
    return detail.take(rows, axis=0).take(cols, axis=1)


def apply_skin_detail(rgba: np.ndarray, detail: np.ndarray, offset: tuple[int, int], strength: float) -> np.ndarray:
    """Multiply a warped occluder's premultiplied colour (``(h, w, 4)`` float32 RGBA) by the face's skin
    ``detail`` (from :func:`skin_detail`), mirrored over it from ``offset``, at ``strength`` in [0, 1]
    (0 = unchanged). Returns a new array whose alpha channel is the input's, exactly."""
    if strength <= 0 or rgba.size == 0:
        return rgba
    if strength != 1.0:
        # 1 + strength * (detail - 1), on the small patch before tiling: the alpha's factor stays exactly 1.
        detail = cv2.addWeighted(detail, float(strength), np.ones_like(detail), float(1.0 - strength), 0.0)
    return cv2.multiply(rgba, mirrored_tile(detail, rgba.shape[:2], offset))
