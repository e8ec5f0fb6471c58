"""Soft alpha for real occluders: a trimap from a part mask, closed-form matting, foreground colours.

Part masks (CelebAMask-HQ's hair or eyeglasses) and hand-segmentation masks are binary and drawn at a coarse
scale; a cut-out taken through them carries a hard edge and a rim of the photo's background. Here the mask
becomes a trimap (eroded mask = surely the occluder, outside the dilated mask = surely not, a band of unknown
between), pymatting solves the closed-form matte (Levin et al.) on the band, and pymatting's multi-level
foreground estimation gives the occluder's own colour where it is partly transparent, so the donor's
background does not travel with it as a halo.

The solver's cost grows with the unknown band, so callers crop to the object first and every function here
works at a bounded resolution (:data:`MAX_SIDE`). pymatting compiles its kernels with numba on first use
(a few seconds, once per process).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from celebamat.errors import AssetError

#: Longest side, in pixels, that matting works at; larger crops are shrunk first.
MAX_SIDE = 384
#: Trimap values.
BG, UNKNOWN, FG = 0.0, 0.5, 1.0


@dataclass(frozen=True)
class Matte:
    """A matted cut-out.

    Attributes:
        rgba: ``(h, w, 4)`` uint8, straight alpha; colour is the estimated foreground (no background mixed in).
        scale: factor from the input crop's pixels to ``rgba``'s (``<= 1``).
    """

    rgba: np.ndarray
    scale: float


def _disk(radius: int) -> np.ndarray:
    r = max(1, int(radius))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def trimap_from_mask(mask: np.ndarray, erode: int, dilate: int, *, sure_bg: np.ndarray | None = None,
                     sure_fg: np.ndarray | None = None) -> np.ndarray:
    """A trimap from a binary mask.

    Args:
        mask: ``(h, w)`` bool (or 0/255) mask of the object.
        erode: pixels the mask shrinks by to give the sure foreground (a thin object keeps its skeleton).
        dilate: pixels the mask grows by; outside it is sure background.
        sure_bg: optional ``(h, w)`` bool pixels forced to background (a lens, the donor's eyes).
        sure_fg: optional ``(h, w)`` bool pixels forced to foreground.

    Returns:
        ``(h, w)`` float64 trimap with values :data:`BG`, :data:`UNKNOWN`, :data:`FG`.
    """
    m = (np.asarray(mask) > 0).astype(np.uint8)
    fg = cv2.erode(m, _disk(erode)) > 0 if erode > 0 else m > 0
    if not fg.any() and m.any():
        # Thin strands vanish under erosion: keep the mask's thinned core as foreground.
        fg = cv2.erode(m, _disk(1)) > 0 if cv2.erode(m, _disk(1)).any() else m > 0
    grown = cv2.dilate(m, _disk(dilate)) > 0 if dilate > 0 else m > 0
    tri = np.full(m.shape, UNKNOWN, np.float64)
    tri[~grown] = BG
    tri[fg] = FG
    if sure_fg is not None:
        tri[np.asarray(sure_fg, bool)] = FG
    if sure_bg is not None:
        tri[np.asarray(sure_bg, bool)] = BG
    return tri


def _fit(rgb: np.ndarray, *planes: np.ndarray, max_side: int) -> tuple[float, np.ndarray, list[np.ndarray]]:
    h, w = rgb.shape[:2]
    f = min(1.0, max_side / max(h, w))
    if f >= 1.0:
        return 1.0, rgb, list(planes)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    out = [cv2.resize(p.astype(np.float32), size, interpolation=cv2.INTER_AREA) for p in planes]
    return f, small, out


def solve_matte(rgb: np.ndarray, trimap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form alpha and foreground colours of an image under a trimap (pymatting).

    Args:
        rgb: ``(h, w, 3)`` uint8.
        trimap: ``(h, w)`` float in [0, 1] (0 background, 1 foreground, between unknown).

    Returns:
        ``(alpha, foreground)``: ``(h, w)`` float64 in [0, 1] and ``(h, w, 3)`` float64 in [0, 1].

    Raises:
        AssetError: when the trimap has no foreground or no background (nothing to solve against).
    """
    from pymatting import estimate_alpha_cf, estimate_foreground_ml

    tri = np.asarray(trimap, np.float64)
    if not (tri >= 0.99).any():
        raise AssetError("matting: the trimap has no sure foreground (the mask is empty or too thin)")
    img = np.ascontiguousarray(rgb, np.float64) / 255.0
    if (tri <= 0.01).any():
        alpha = estimate_alpha_cf(img, tri, cg_kwargs={"maxiter": 2000})
    else:  # nothing known to be background: the mask is the answer
        alpha = np.where(tri >= 0.99, 1.0, 0.5)
    alpha = np.clip(alpha, 0.0, 1.0)
    alpha[tri <= 0.01] = 0.0
    alpha[tri >= 0.99] = 1.0
    fg = estimate_foreground_ml(img, alpha)
    return alpha, np.clip(fg, 0.0, 1.0)


def band_widths(side: int) -> tuple[int, int]:
    """Default ``(erode, dilate)`` of the trimap band for a crop whose longest side is ``side`` pixels."""
    return max(1, round(side * 0.008)), max(3, round(side * 0.02))


def matte_mask(rgb: np.ndarray, mask: np.ndarray, *, max_side: int = MAX_SIDE, erode: int | None = None,
               dilate: int | None = None, sure_bg: np.ndarray | None = None,
               sure_fg: np.ndarray | None = None) -> Matte:
    """Refine a binary mask of an object in a photo crop into a soft matte with clean colours.

    Args:
        rgb: ``(h, w, 3)`` uint8 crop around the object (with some of its surroundings).
        mask: ``(h, w)`` bool or 0/255 mask of the object, same size.
        max_side: the crop is shrunk (area filter) so its longest side is at most this.
        erode, dilate: trimap band in pixels at the working size (default :func:`band_widths`).
        sure_bg, sure_fg: ``(h, w)`` bool pixels forced to background / foreground in the trimap.

    Returns:
        A :class:`Matte` at the working size.
    """
    if rgb.shape[:2] != np.asarray(mask).shape[:2]:
        raise AssetError(f"matting: mask size {np.asarray(mask).shape[1::-1]} differs from image {rgb.shape[1::-1]}")
    planes = [np.asarray(mask, np.float32) / (255.0 if np.asarray(mask).max() > 1 else 1.0)]
    extra = [p for p in (sure_bg, sure_fg) if p is not None]
    f, small, out = _fit(rgb, *planes, *[np.asarray(p, np.float32) for p in extra], max_side=max_side)
    m = out[0] > 0.5
    rest = iter(out[1:])
    bg = next(rest) > 0.5 if sure_bg is not None else None
    fgp = next(rest) > 0.5 if sure_fg is not None else None
    e0, d0 = band_widths(max(small.shape[:2]))
    tri = trimap_from_mask(m, e0 if erode is None else erode, d0 if dilate is None else dilate, sure_bg=bg,
                           sure_fg=fgp)
    alpha, fg = solve_matte(small, tri)
    rgba = np.dstack([np.rint(fg * 255), np.rint(alpha * 255)]).clip(0, 255).astype(np.uint8)
    return Matte(rgba=rgba, scale=f)


def refine_alpha(rgb: np.ndarray, alpha: np.ndarray, *, max_side: int = MAX_SIDE) -> Matte:
    """Matte an object given as image + alpha: binary masks are refined by :func:`matte_mask`; an alpha that is
    already soft (a matting dataset's ground truth) is kept and only its foreground colours are estimated.

    Args:
        rgb: ``(h, w, 3)`` uint8.
        alpha: ``(h, w)`` uint8 (0..255).
    """
    a = np.asarray(alpha)
    if a.dtype != np.uint8:
        raise AssetError(f"matting: alpha must be uint8 0..255, got {a.dtype}")
    if is_binary(a):
        return matte_mask(rgb, a > 127, max_side=max_side)
    from pymatting import estimate_foreground_ml

    f, small, (af,) = _fit(rgb, a.astype(np.float32) / 255.0, max_side=max_side)
    af = np.clip(af.astype(np.float64), 0.0, 1.0)
    fg = np.clip(estimate_foreground_ml(np.ascontiguousarray(small, np.float64) / 255.0, af), 0.0, 1.0)
    rgba = np.dstack([np.rint(fg * 255), np.rint(af * 255)]).clip(0, 255).astype(np.uint8)
    return Matte(rgba=rgba, scale=f)


def is_binary(alpha: np.ndarray, tolerance: float = 0.02) -> bool:
    """Whether a uint8 alpha is a binary mask (all but ``tolerance`` of its pixels at 0 or 255, as JPEG-saved
    masks have a few grey pixels)."""
    a = np.asarray(alpha)
    mid = ((a > 8) & (a < 247)).mean() if a.size else 0.0
    return bool(mid <= tolerance)


def soft_edge_share(alpha: np.ndarray) -> float:
    """Share of the edge pixels (next to both inside and outside of the 50 % contour) that are strictly between
    0 and 255: 0 for a hard mask, near 1 for a real matte. ``alpha`` is ``(h, w)`` uint8."""
    a = np.asarray(alpha)
    inside = (a >= 128).astype(np.uint8)
    k = _disk(2)
    edge = (cv2.dilate(inside, k) > 0) & (cv2.erode(inside, k) == 0)
    if not edge.any():
        return 0.0
    vals = a[edge]
    return float(((vals > 0) & (vals < 255)).mean())
