"""Hands from their 21 landmarks: the bones between them and a rough mask of the hand and forearm.

Mediapipe's hand landmarker (:meth:`celebamat.landmarks.Landmarker.hands`) is trained on real hands, so it
finds real hands over faces that a matting network trained on synthetic composites may take for skin. The mask
drawn from its landmarks is a prior, not a matte: fingers as capsules as wide as a finger, the palm as the hull
of its joints, the forearm continuing from the wrist away from the knuckles.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Landmark chains of mediapipe's 21-point hand: the thumb and the index from the wrist, the middle and ring
#: fingers from their knuckles, the little finger from the wrist.
FINGER_CHAINS = ((0, 1, 2, 3, 4), (0, 5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (0, 17, 18, 19, 20))
HAND_BONES = tuple((a, b) for chain in FINGER_CHAINS for a, b in zip(chain[:-1], chain[1:]))
#: The palm: wrist, thumb base and the four knuckles.
PALM = (0, 1, 2, 5, 9, 13, 17)


def palm_width(landmarks: np.ndarray) -> float:
    """Distance between the index and little-finger knuckles (px): the hand's scale."""
    p = np.asarray(landmarks, np.float64)
    return float(np.linalg.norm(p[5] - p[17]))


def hand_mask(hands: list[np.ndarray], shape: tuple[int, int], finger_width: float = 0.3,
              forearm_length: float = 3.0, forearm_width: float = 0.9, feather: float = 0.08) -> np.ndarray:
    """A soft mask of the hands (and forearms) drawn from their landmarks.

    Args:
        hands: ``(21, 2)`` landmark arrays in pixels.
        shape: ``(H, W)`` of the mask.
        finger_width: a finger's width as a fraction of the palm width.
        forearm_length, forearm_width: the forearm drawn from the wrist away from the middle knuckle, in palm
            widths (0 length: no forearm).
        feather: edge softness (Gaussian sigma) in palm widths.

    Returns:
        ``(H, W)`` float32 in [0, 1], 1 on the hands.
    """
    h, w = shape
    out = np.zeros((h, w), np.float32)
    for lm in hands:
        p = np.asarray(lm, np.float64)
        if p.shape != (21, 2) or not np.isfinite(p).all():
            raise ValueError(f"hand landmarks must be a finite (21, 2) array, got shape {p.shape}")
        pw = max(palm_width(p), 1.0)
        m = np.zeros((h, w), np.uint8)
        shift = 4
        q = np.round(p * (1 << shift)).astype(np.int32)
        cv2.fillConvexPoly(m, cv2.convexHull(q[list(PALM)]), 1, cv2.LINE_8, shift)
        t = max(1, round(finger_width * pw))
        for a, b in HAND_BONES:
            cv2.line(m, tuple(q[a]), tuple(q[b]), 1, t, cv2.LINE_8, shift)
        if forearm_length > 0:
            d = p[0] - p[9]
            d /= np.linalg.norm(d) + 1e-9
            end = np.round((p[0] + d * forearm_length * pw) * (1 << shift)).astype(np.int32)
            cv2.line(m, tuple(q[0]), tuple(end), 1, max(1, round(forearm_width * pw)), cv2.LINE_8, shift)
        mf = m.astype(np.float32)
        if feather > 0:
            mf = cv2.GaussianBlur(mf, (0, 0), max(0.5, feather * pw))
        np.maximum(out, mf, out=out)
    return np.clip(out, 0.0, 1.0)
