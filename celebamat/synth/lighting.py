"""Light from the photo: a first-order spherical-harmonics fit of a face's shading, applied to occluders.

The face is modelled as an ellipsoid fitted to its landmarks (centre, width, height, roll): each skin pixel gets
the normal of that ellipsoid, and its linear luminance is fitted by least squares as

    Y(n) = c0 + c1 * nx + c2 * ny + c3 * nz        (x right, y down, z towards the camera)

the first two bands of spherical harmonics, which carry most of the energy of diffuse lighting. The four numbers
are the sample's *light* (``CompositeParams.light``): :func:`fit_face_light` computes them once per sample in
``sample_params`` (deterministic from the face), the renderer only applies them, so rendering stays pure.

An occluder has no mesh, so :func:`alpha_normals` derives normals from its alpha (the blurred coverage rises like
a rounded body from its outline), and :func:`shade_occluder` multiplies its colour by the fitted shading relative
to a surface facing the camera: an occluder's side that faces the light brightens, the other darkens, as on the
face beneath it. Colours are premultiplied float32 in [0, 1]; the alpha is never touched.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

#: Side of the low-resolution grid (over the face's box) the fit runs on: about a thousand cells for four
#: coefficients.
_FIT_SIDE = 32


def _ellipsoid_normals(side: int, scale: float | tuple[float, float], center: tuple[float, float], half_w: float,
                       half_h: float, roll: float) -> tuple[np.ndarray, np.ndarray]:
    """Normals ``(side, side, 3)`` of the face ellipsoid on a ``side`` grid whose cells are ``scale`` (or ``(sx,
    sy)``) image pixels, ``center`` given relative to the grid's origin, and the mask ``(side, side)`` of grid
    cells inside the ellipse."""
    sx, sy = (scale, scale) if isinstance(scale, (int, float)) else scale
    ys, xs = np.mgrid[0:side, 0:side].astype(np.float64)
    xs = (xs + 0.5) * sx - center[0]
    ys = (ys + 0.5) * sy - center[1]
    c, s = math.cos(roll), math.sin(roll)
    u = (c * xs + s * ys) / half_w  # along the eye line
    v = (-s * xs + c * ys) / half_h  # along the face's down axis
    r2 = u * u + v * v
    inside = r2 < 0.98
    nz = np.sqrt(np.clip(1.0 - r2, 0.02, 1.0))
    # Back to image axes (the in-plane part of the normal rotates with the face).
    nx, ny = c * u - s * v, s * u + c * v
    n = np.stack([nx, ny, nz], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    return n, inside


def fit_face_light(image: np.ndarray, skin: np.ndarray, center: tuple[float, float], face_width: float,
                   face_height: float, roll: float) -> tuple[float, float, float, float]:
    """First-order spherical-harmonics light of a face photo.

    Args:
        image: ``(S, S, 3)`` uint8 RGB (or float32 in [0, 1]).
        skin: ``(S, S)`` float in [0, 1], the face's skin matte.
        center, face_width, face_height, roll: the face frame (``celebamat.landmarks.face_frame``), pixels and
            radians.

    Returns:
        ``(c0, c1, c2, c3)`` in linear luminance units (about [0, 1]): ambient and the x (right), y (down) and z
        (towards the camera) components. ``(0.5, 0, 0, 0.2)``, a frontal light, when the skin is too small to fit.
    """
    # Only the face's box is read (a fraction of the photo), on a coarse grid.
    h, w = image.shape[:2]
    half_w, half_h = 0.5 * face_width, 0.55 * face_height
    reach = max(half_w, half_h)
    x0, y0 = max(0, int(math.floor(center[0] - reach))), max(0, int(math.floor(center[1] - reach)))
    x1, y1 = min(w, int(math.ceil(center[0] + reach)) + 1), min(h, int(math.ceil(center[1] + reach)) + 1)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return (0.5, 0.0, 0.0, 0.2)
    # Every ``step``-th pixel first (a low-order fit does not mind the aliasing), then area-averaged to the grid.
    step = max(1, min(x1 - x0, y1 - y0) // (2 * _FIT_SIDE))
    crop = np.ascontiguousarray(image[y0:y1:step, x0:x1:step])
    small = cv2.resize(crop, (_FIT_SIDE, _FIT_SIDE), interpolation=cv2.INTER_AREA).astype(np.float64)
    if image.dtype == np.uint8:
        small /= 255.0
    sk = cv2.resize(np.ascontiguousarray(skin[y0:y1:step, x0:x1:step], dtype=np.float32), (_FIT_SIDE, _FIT_SIDE),
                    interpolation=cv2.INTER_AREA)
    lum = (small @ np.array([0.2126, 0.7152, 0.0722])) ** 2.2  # linear light
    n, inside = _ellipsoid_normals(_FIT_SIDE, ((x1 - x0) / _FIT_SIDE, (y1 - y0) / _FIT_SIDE),
                                   (center[0] - x0, center[1] - y0), half_w, half_h, roll)
    sel = inside & (sk > 0.9)
    if sel.sum() < 24:
        return (0.5, 0.0, 0.0, 0.2)
    a = np.concatenate([np.ones((int(sel.sum()), 1)), n[sel]], 1)
    y = lum[sel]
    coef = np.linalg.lstsq(a, y, rcond=None)[0]
    # One robust pass: eyes, brows, nostrils and lips are not skin shading; drop the worst residuals and refit.
    res = np.abs(a @ coef - y)
    keep = res <= np.quantile(res, 0.8)
    if keep.sum() >= 16:
        coef = np.linalg.lstsq(a[keep], y[keep], rcond=None)[0]
    c0, c1, c2, c3 = (float(v) for v in coef)
    if c3 < 0.2 * abs(c0):
        # A face darker where it faces the camera than at its rim is a poor fit (make-up, beards, a fringe),
        # not a light: hold the frontal term at a fifth of the ambient and refit the rest.
        c3 = 0.2 * abs(c0)
        a2, y2 = (a[keep], y[keep]) if keep.sum() >= 16 else (a, y)
        c0, c1, c2 = (float(v) for v in np.linalg.lstsq(a2[:, :3], y2 - c3 * a2[:, 3], rcond=None)[0])
    return (c0, c1, c2, c3)


def light_direction_2d(light: tuple[float, float, float, float]) -> tuple[np.ndarray, float]:
    """The in-image direction the light comes *from* (unit ``(2,)``, x right, y down) and how oblique it is
    (0 = frontal, towards 1 = grazing)."""
    v = np.array(light[1:3], dtype=np.float64)
    norm = float(np.hypot(*v))
    if norm < 1e-9:
        return np.array([0.0, -1.0]), 0.0
    return v / norm, norm / (norm + abs(light[3]) + 1e-9)


def alpha_normals(alpha: np.ndarray, radius: float) -> tuple[np.ndarray, int]:
    """Normals of a body whose outline is ``alpha`` (``(h, w)`` float32 in [0, 1]), on a grid ``f`` times coarser.

    The alpha blurred at ``radius`` px (about the body's half thickness: a finger's radius) rises from 0 outside
    to 1 inside; its gradient, scaled by ``radius``, is the in-plane part of the normal (pointing outwards) and
    ``nz`` completes a unit vector. Cheap and smooth; exact for a cylinder seen from the side. The field is
    smooth at the scale of ``radius``, so it is computed at up to a quarter of the resolution.

    Returns:
        ``(normals, f)``: ``(ceil(h / f), ceil(w / f), 3)`` float32 and the factor ``f`` (1 to 4).
    """
    r = max(radius, 0.5)
    f = max(1, min(4, int(r // 3)))
    h, w = alpha.shape
    src = cv2.resize(alpha, (-(-w // f), -(-h // f)), interpolation=cv2.INTER_AREA) if f > 1 else alpha
    k = int(2 * math.ceil(2.5 * r / f) + 1)
    soft = cv2.GaussianBlur(src, (k, k), r / f, borderType=cv2.BORDER_CONSTANT)
    g = 1.6 * r / f / 8.0  # Sobel's 3 x 3 kernel sums to 8 times the derivative
    nx = cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3, scale=-g)
    ny = cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3, scale=-g)
    over = np.maximum(cv2.magnitude(nx, ny), np.float32(0.95))
    over *= np.float32(1.0 / 0.95)
    nx /= over
    ny /= over
    nz = np.sqrt(np.maximum(np.float32(1.0) - nx * nx - ny * ny, np.float32(0.0)))
    return cv2.merge([nx, ny, nz]), f


def shading(normals: np.ndarray, light: tuple[float, float, float, float], strength: float) -> np.ndarray:
    """Relative shading ``(h, w)`` float32 of ``normals`` under ``light``, 1 for a surface facing the camera.

    ``strength`` in [0, 1] blends from no change (0) to the full fitted ratio (1), converted from linear light to
    sRGB; the ratio is clipped to [0.35, 1.6] first (an occluder is never blacked out or burnt by a bad fit).
    """
    c0, c1, c2, c3 = light
    front = c0 + c3
    if front <= 1e-4 or strength <= 0:
        return np.ones(normals.shape[:2], np.float32)
    coef = np.array([[c1, c2, c3]], np.float32) / np.float32(front)
    ratio = cv2.transform(normals, coef) + np.float32(c0 / front)  # (h, w) Y(n) / Y(front)
    np.clip(ratio, 0.35, 1.6, out=ratio)
    # Shading ratios are in linear light and the colours sRGB: ratio ** (strength / 2.2), to first order
    # (plain arithmetic: no transcendental whose last bits differ between CPUs on the way to a rounding).
    ratio -= np.float32(1.0)
    ratio *= np.float32(strength / 2.2)
    ratio += np.float32(1.0)
    return ratio


def shade_occluder(rgba: np.ndarray, light: tuple[float, float, float, float], radius: float,
                   strength: float, gain: float = 1.0) -> np.ndarray:
    """Shade a warped occluder (premultiplied ``(h, w, 4)`` float32 RGBA) with the face's light, its colour also
    scaled by ``gain`` (:func:`local_exposure`); returns a new array whose alpha channel is the input's, exactly.
    ``radius`` as in :func:`alpha_normals`."""
    if rgba.size == 0 or (strength <= 0 and gain == 1.0):
        return rgba
    if strength <= 0:
        return cv2.multiply(rgba, (gain, gain, gain, 1.0))
    h, w = rgba.shape[:2]
    n, f = alpha_normals(cv2.extractChannel(rgba, 3), radius)
    s = shading(n, light, strength)
    if gain != 1.0:
        s *= np.float32(gain)
    # The factor is built at the coarse grid (alpha's factor 1) and resized once.
    s4 = cv2.merge([s, s, s, np.ones_like(s)])
    if f > 1:
        s4 = cv2.resize(s4, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.multiply(rgba, s4)


def local_exposure(alpha: np.ndarray, clean: np.ndarray, skin: np.ndarray, skin_luma: float,
                   strength: float) -> float:
    """The gain that exposes a hand like the face it lies on: the ratio of the mean luma of the skin beneath it to
    the face's median skin luma (a hand in front of a shadowed cheek is in that shadow too).

    Args:
        alpha: ``(h, w)`` float32 alpha of the warped occluder on some box of the image.
        clean: ``(h, w, 3)`` float32 face photo on the same box; ``skin``: ``(h, w)`` its skin matte.
        skin_luma: median luma of the face's confident skin, in [0, 1].
        strength: in [0, 1]; the gain is ``ratio ** strength`` to first order, ratio clipped to [0.6, 1.6].

    Returns:
        The gain for the occluder's colour; 1.0 when fewer than 50 skin pixels lie under it.
    """
    if strength <= 0 or alpha.size == 0 or skin_luma <= 1e-3:
        return 1.0
    under = ((alpha > 0.5) & (skin > 0.9)).astype(np.uint8)
    if int(cv2.countNonZero(under)) < 50:
        return 1.0
    luma = cv2.mean(cv2.cvtColor(np.ascontiguousarray(clean), cv2.COLOR_RGB2GRAY), mask=under)[0]
    ratio = min(1.6, max(0.6, float(luma) / skin_luma))
    return 1.0 + strength * (ratio - 1.0)
