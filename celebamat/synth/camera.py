"""One camera: the face photo's own sharpness and grain, estimated from it, given to the occluders.

Procedural occluders are rendered supersampled, razor sharp and noiseless; the photos they cover are not. The
estimates here run once per sample in ``sample_params`` (deterministic from the face) and their results are
recorded in the params (``OccluderParams.camera_sigma``, ``OccluderParams.grain``); the renderer blurs colour and
alpha alike by ``camera_sigma`` (so image and matte cannot disagree) and adds grain to the colour alone.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

#: What the estimator reads on an ideal step edge drawn anti-aliased (calibrated on synthetic discs): the
#: estimate of a Gaussian-blurred edge is about ``sqrt(sigma**2 + _EDGE_FLOOR**2)``.
_EDGE_FLOOR = 0.74
#: The blur bilinear warping already gives a sharp occluder, in pixels.
_WARP_SIGMA = 0.5
#: Mesh points of the brows and eye rings (celebamat.landmarks), the region the blur is read from.
_EYE_REGION = (70, 63, 105, 66, 107, 336, 296, 334, 293, 300, 33, 133, 145, 159, 362, 263, 374, 386)
#: Mesh points bounding the cheeks: under the eyes (nose bridge level), above the mouth corners, jaw sides.
_CHEEK_TOP, _CHEEK_BOTTOM, _CHEEK_SIDES = 195, 61, (123, 352)


def eye_box(landmarks: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` around the brows and eyes of ``(478, 2)`` landmarks (grown by 15 %), clipped to the
    ``size`` x ``size`` image: the strongest edges of a face, and where a photographer focuses."""
    pts = np.asarray(landmarks, np.float64)[list(_EYE_REGION)]
    lo, hi = pts.min(0), pts.max(0)
    pad = 0.15 * (hi - lo)
    x0, y0 = np.floor(lo - pad).astype(int)
    x1, y1 = np.ceil(hi + pad).astype(int)
    return max(0, int(x0)), max(0, int(y0)), min(size, int(x1)), min(size, int(y1))


def cheek_box(landmarks: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` spanning the cheeks (below the eyes, above the mouth corners) of ``(478, 2)``
    landmarks: mostly smooth skin, where a photo's grain shows."""
    pts = np.asarray(landmarks, np.float64)
    ys = sorted((pts[_CHEEK_TOP, 1], pts[_CHEEK_BOTTOM, 1]))
    xs = sorted((pts[_CHEEK_SIDES[0], 0], pts[_CHEEK_SIDES[1], 0]))
    return (max(0, int(xs[0])), max(0, int(ys[0])), min(size, int(math.ceil(xs[1]))),
            min(size, int(math.ceil(ys[1]))))


def edge_blur_sigma(image: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Gaussian sigma (pixels) of the photo's blur, from the width of its strong edges inside ``box``.

    A step of height ``h`` blurred with sigma ``s`` has a steepest slope ``h / (sqrt(2 pi) s)``: at local maxima
    of the gradient with a contrast of at least 0.12, ``s`` is read as contrast / (sqrt(2 pi) slope) and the
    median of the steepest 30 % taken; the anti-aliasing floor of the estimator is removed. ``image`` is
    ``(S, S, 3)`` uint8 RGB. Returns 0 when the box holds too few edges.

    Integer gradients (8-bit Sobel into 16 bits), 8-bit morphology and float64 arithmetic: the same value on any
    CPU (float32 filters pick per-CPU kernels whose last bits would reach the recorded params).
    """
    x0, y0, x1, y1 = box
    g = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    gx = cv2.Sobel(g, cv2.CV_16S, 1, 0, ksize=3).astype(np.float64)
    gy = cv2.Sobel(g, cv2.CV_16S, 0, 1, ksize=3).astype(np.float64)
    m = np.sqrt(gx * gx + gy * gy) / (8.0 * 255.0)  # slope per pixel, image in [0, 1]
    k = np.ones((13, 13), np.uint8)
    contrast = cv2.subtract(cv2.dilate(g, k), cv2.erode(g, k)).astype(np.float64) / 255.0
    sel = (m >= cv2.dilate(m, np.ones((3, 3), np.uint8))) & (contrast > 0.12) & (m > 0.01)
    if int(sel.sum()) < 50:
        return 0.0
    slopes = m[sel]
    keep = slopes >= np.quantile(slopes, 0.7)
    s = float(np.median(contrast[sel][keep] / (math.sqrt(2.0 * math.pi) * slopes[keep])))
    return math.sqrt(max(0.0, s * s - _EDGE_FLOOR**2))


def occluder_sigma(photo_sigma: float, fraction: float) -> float:
    """Blur (pixels) to give an occluder so that it is about ``fraction`` as soft as the photo's edges (natural
    edges are softer than steps, so ``fraction`` < 1), less what warping already gives; 0 below a tenth of a
    pixel, at most 4."""
    s2 = (fraction * photo_sigma) ** 2 - _WARP_SIGMA**2
    return 0.0 if s2 < 0.01 else min(4.0, math.sqrt(s2))


def grain_sigma(image: np.ndarray, skin: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Noise of the photo in 8-bit levels: the median absolute deviation of its fine detail on skin (robust to
    edges), as a Gaussian sigma. ``image`` ``(S, S, 3)`` uint8; ``skin`` ``(S, S)``.

    The fine detail is the 8-bit luma less its 5 x 5 binomial blur, summed in float64 from integers: exact, so
    the same on any CPU.
    """
    x0, y0, x1, y1 = box
    if x1 - x0 < 8 or y1 - y0 < 8:
        return 0.0
    g = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY).astype(np.float64)
    b = (1.0, 4.0, 6.0, 4.0, 1.0)
    # Every other pixel in both directions (the same median, 4x cheaper), and only there is the blur computed.
    rows = sum(w * g[:, i : g.shape[1] - 4 + i : 2] for i, w in enumerate(b))
    blur = sum(w * rows[i : rows.shape[0] - 4 + i : 2] for i, w in enumerate(b)) / 256.0
    fine = g[2:-2:2, 2:-2:2] - blur
    sel = np.asarray(skin[y0 + 2 : y1 - 2 : 2, x0 + 2 : x1 - 2 : 2]) > 0.95
    if int(sel.sum()) < 50:
        return 0.0
    # The binomial high-pass keeps sqrt(1 - 2 * (6/16)^2 + (70/256)^2) = 0.891 of white noise's deviation.
    return float(1.4826 * np.median(np.abs(fine[sel])) / 0.891)


def add_grain(color: np.ndarray, alpha3: np.ndarray, sigma: float, tile: np.ndarray, offset: tuple[int, int]) -> None:
    """Add grain of ``sigma`` 8-bit levels to a premultiplied occluder colour ``(h, w, 3)`` in place, weighted by its
    alpha (``alpha3``, the ``(h, w)`` alpha repeated over 3 channels), from a window of ``tile`` (standard normal
    ``(T, T, 3)``, ``T`` at least ``h`` and ``w``) at ``offset = (oy, ox)``; the result stays premultiplied
    (between 0 and the alpha)."""
    if sigma <= 0 or color.size == 0:
        return
    h, w = color.shape[:2]
    oy, ox = offset
    noise = tile[oy : oy + h, ox : ox + w]
    cv2.add(color, cv2.multiply(noise, alpha3, scale=sigma / 255.0), dst=color)
    cv2.min(color, alpha3, dst=color)
    cv2.max(color, 0.0, dst=color)
