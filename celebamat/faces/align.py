"""Face alignment: an oriented square from the eye and mouth centres (the CelebA-HQ / FFHQ construction).

Coordinates are continuous pixel coordinates ``(x, y)``: pixel ``(i, j)`` covers ``[j, j+1) x [i, i+1)``,
the convention mediapipe landmarks use. Transforms are ``(2, 3)`` float64 affine matrices mapping original
coordinates to aligned coordinates (``p' = M[:, :2] @ p + M[:, 2]``).

facemat-predict uses the same three functions to align video frames and paste mattes back::

    M = alignment_transform(landmarks, 512)
    face = align_image(frame, M, 512)
    matte_in_frame = align_image(matte, invert_transform(M), frame.shape[1::-1], border="constant")
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from celebamat.landmarks import EYE_LEFT_RING, EYE_RIGHT_RING, NUM_LANDMARKS

_MOUTH_LEFT, _MOUTH_RIGHT = 61, 291


def alignment_points(landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """Eye centres (mean of each eye contour; iris-independent, so gaze does not move them) and mouth
    corners of a ``(478, 2)`` (or ``(468, 2)``) landmark array, as float64 ``(2,)`` arrays."""
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] not in (468, NUM_LANDMARKS):
        raise ValueError(f"landmarks must have shape ({NUM_LANDMARKS}, 2), got {pts.shape}")
    return {
        "eye_left": pts[list(EYE_LEFT_RING)].mean(axis=0),
        "eye_right": pts[list(EYE_RIGHT_RING)].mean(axis=0),
        "mouth_left": pts[_MOUTH_LEFT],
        "mouth_right": pts[_MOUTH_RIGHT],
    }


def alignment_transform(
    landmarks: np.ndarray, size: int, *, zoom: float = 1.0, roll_deg: float = 0.0, shift: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """Similarity transform from the photo to an aligned ``size x size`` face.

    The square is built as in CelebA-HQ/FFHQ: its x axis is the eye-to-eye vector blended with the
    eye-to-mouth vector turned by 90 degrees (robust to a tilted eye line alone); its half side is
    ``max(2.0 * eye distance, 1.8 * eye-to-mouth distance)``; its centre sits ``0.1 * eye-to-mouth`` below the
    eye midpoint. The face ends up centred, upright, at a fixed scale.

    Args:
        landmarks: ``(478, 2)`` pixel coordinates in the photo.
        size: side of the aligned image in pixels.
        zoom: > 1 crops tighter (face larger), < 1 looser.
        roll_deg: extra rotation of the face in the output, degrees (positive = counter-clockwise on screen).
        shift: extra translation of the face in the output, as fractions of ``size``.

    Returns:
        ``(2, 3)`` float64 matrix mapping photo pixels to aligned pixels.
    """
    p = alignment_points(landmarks)
    eye_avg = (p["eye_left"] + p["eye_right"]) / 2
    eye_to_eye = p["eye_right"] - p["eye_left"]
    eye_to_mouth = (p["mouth_left"] + p["mouth_right"]) / 2 - eye_avg
    # Turn eye_to_mouth by -90 degrees (y points down): for an upright face it then points to image right.
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])
    norm = float(np.hypot(*x))
    if norm < 1e-6:
        raise ValueError("degenerate landmarks: eyes and mouth coincide")
    half = max(float(np.hypot(*eye_to_eye)) * 2.0, float(np.hypot(*eye_to_mouth)) * 1.8) / float(zoom)
    center = eye_avg + 0.1 * eye_to_mouth
    theta = math.atan2(x[1], x[0]) + math.radians(roll_deg)
    s = size / (2.0 * half)
    c, si = math.cos(theta), math.sin(theta)
    a = s * np.array([[c, si], [-si, c]])  # rotate by -theta, then scale
    t = np.array([size / 2.0 + shift[0] * size, size / 2.0 + shift[1] * size]) - a @ center
    return np.hstack([a, t[:, None]]).astype(np.float64)


def transform_scale(m: np.ndarray) -> float:
    """Isotropic scale factor of an affine transform (aligned pixels per original pixel)."""
    return float(math.sqrt(abs(np.linalg.det(np.asarray(m, np.float64)[:, :2]))))


def invert_transform(m: np.ndarray) -> np.ndarray:
    """Inverse of a ``(2, 3)`` affine transform (aligned px -> original px), float64."""
    full = np.vstack([np.asarray(m, dtype=np.float64), [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def transform_points(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Apply a ``(2, 3)`` transform to ``(N, 2)`` points; returns float64 ``(N, 2)``."""
    pts = np.asarray(points, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    return pts @ m[:, :2].T + m[:, 2]


_BORDERS = {"reflect": cv2.BORDER_REFLECT_101, "replicate": cv2.BORDER_REPLICATE, "constant": cv2.BORDER_CONSTANT}


def align_image(
    image: np.ndarray,
    m: np.ndarray,
    size: int | tuple[int, int],
    interpolation: int = cv2.INTER_LINEAR,
    border: str = "reflect",
    border_value: float = 0.0,
) -> np.ndarray:
    """Warp ``image`` with the transform ``m`` into an output of ``size`` (int = square, or ``(w, h)``).

    Works on ``(H, W)`` or ``(H, W, C)`` arrays of uint8 or float32 (images and mattes alike). When the
    transform shrinks by more than 2x the image is first reduced with an area filter, so the result is not
    aliased; ``interpolation`` (an OpenCV flag) is then used for the residual warp.

    Args:
        border: ``"reflect"`` (default, for photos), ``"replicate"`` or ``"constant"`` (``border_value``;
            use it for masks and mattes).
    """
    if border not in _BORDERS:
        raise ValueError(f"border must be one of {sorted(_BORDERS)}, got {border!r}")
    out_w, out_h = (size, size) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    m = np.asarray(m, dtype=np.float64)
    src = np.ascontiguousarray(image)
    h, w = src.shape[:2]
    scale = transform_scale(m)
    if scale < 0.5:
        # Pre-shrink with an area filter to about the output scale, then fold that resize into m.
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        src = cv2.resize(src, (nw, nh), interpolation=cv2.INTER_AREA)
        pre = np.diag([w / nw, h / nh])  # shrunk px -> original px (continuous coordinates)
        m = np.hstack([m[:, :2] @ pre, m[:, 2:]])
    # OpenCV samples at integer pixel centres: shift into that convention (x_cv = x - 0.5 on both sides).
    a, t = m[:, :2], m[:, 2]
    t_cv = t + a @ np.array([0.5, 0.5]) - 0.5
    m_cv = np.hstack([a, t_cv[:, None]])
    out = cv2.warpAffine(
        src, m_cv, (out_w, out_h), flags=interpolation, borderMode=_BORDERS[border], borderValue=border_value
    )
    if out.ndim == 2 and image.ndim == 3:
        out = out[..., None]
    return out
