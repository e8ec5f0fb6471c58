"""Hands from real photos as occluders: upright from mediapipe's hand landmarks, forearm leaving the frame.

A hand cut out of a segmentation set can lie at any angle. Here its 21 mediapipe landmarks turn it upright
(wrist below, fingers up), the forearm is cut a little below the wrist so the asset's bottom border is the
arm's way out of the picture, and the placement metadata sends the palm to a face anchor with the arm leaving
the face downwards or sideways: fingers point towards the face, never upside down.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import cv2
import numpy as np

from celebamat.errors import AssetError

#: Where an imported hand's palm goes, with the way the forearm leaves and the subtype that names the pose.
HAND_POSES = (
    ("mouth_center", "exit_down", "cover_mouth"),
    ("cheek_left", "exit_side", "on_cheek"),
    ("cheek_right", "exit_side", "on_cheek"),
    ("chin", "exit_down", "chin_rest"),
    ("nose_tip", "exit_down", "over_eyes"),
)
#: How far below the wrist the forearm is cut, in wrist-to-middle-knuckle lengths.
FOREARM = 0.45
#: Smallest wrist-to-middle-knuckle length, pixels, of a hand worth importing.
MIN_PALM_PX = 40


def pick_pose(name: str) -> tuple[str, str, str]:
    """A stable pose for an asset name: ``(face target, exit direction, subtype)``."""
    h = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
    return HAND_POSES[h % len(HAND_POSES)]


def _rotate(rgba: np.ndarray, lm: np.ndarray, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate a straight-alpha RGBA (premultiplied while resampling) on an enlarged canvas; move ``lm`` along."""
    h, w = rgba.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(math.ceil(h * s + w * c)), int(math.ceil(h * c + w * s))
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    a = rgba[..., 3:].astype(np.float32) / 255
    prem = np.dstack([rgba[..., :3].astype(np.float32) * a, a[..., 0] * 255])
    out = cv2.warpAffine(prem, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = out[..., 3] / 255
    col = out[..., :3] / np.maximum(alpha[..., None], 1e-4)
    res = np.dstack([np.clip(np.rint(col), 0, 255), np.clip(np.rint(out[..., 3]), 0, 255)]).astype(np.uint8)
    res[res[..., 3] == 0] = 0
    return res, lm @ m[:, :2].T + m[:, 2]


def upright_hand(rgba: np.ndarray, lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Turn a hand so that its wrist-to-middle-knuckle axis points up, cut the forearm below the wrist and crop.

    Args:
        rgba: ``(h, w, 4)`` uint8 straight-alpha cut-out of one hand.
        lm: ``(21, 2)`` mediapipe hand landmarks in its pixels (0 wrist, 9 middle-finger knuckle).

    Returns:
        ``(rgba, lm)``: the cropped upright hand whose bottom row is the forearm's cut (alpha > 0 there), and
        the landmarks in its pixels.

    Raises:
        AssetError: when the cut leaves no forearm on the bottom border.
    """
    v = lm[9] - lm[0]
    length = float(np.hypot(*v))
    if length < MIN_PALM_PX:
        raise AssetError(f"hand too small ({length:.0f} px from wrist to middle knuckle, at least {MIN_PALM_PX} "
                         "wanted): scaled to a face it would be a blur")
    # Angle that turns v onto (0, -1); cv2 angles are counter-clockwise with y down.
    angle = math.degrees(math.atan2(v[1], v[0])) + 90.0
    out, lm2 = _rotate(rgba, lm, angle)
    a = out[..., 3]
    rows = np.nonzero((a > 64).any(axis=1))[0]
    if rows.size == 0:
        raise AssetError("empty hand cut-out")
    # Below the wrist by a stretch of forearm, or where the photo (or the mask) ends, whichever comes first.
    cut = min(int(round(lm2[0, 1] + FOREARM * length)), int(rows.max()) + 1)
    ys, xs = np.nonzero(a[:cut] > 0)
    if ys.size == 0:
        raise AssetError("nothing of the hand above the forearm cut")
    if cut <= lm2[0, 1] - 0.25 * length:
        raise AssetError("the hand's mask ends above its wrist, so it cannot leave the frame")
    y0, x0, x1 = int(ys.min()), int(xs.min()), int(xs.max()) + 1
    pad = 4
    crop = np.pad(out[y0:cut, x0:x1], [[pad, 0], [pad, pad], [0, 0]])
    return crop, lm2 - (x0 - pad, y0 - pad)


def hand_metadata(rgba: np.ndarray, lm: np.ndarray, name: str) -> tuple[dict[str, Any], str]:
    """Anchors, targets, scale and exit edge of an upright hand (from :func:`upright_hand`).

    Returns:
        ``(partial metadata, subtype)``: keys anchors, targets, scale, rotation, mirror, zones, exit_edge, tags.
    """
    h, w = rgba.shape[:2]
    bottom = np.nonzero(rgba[-1, :, 3] > 64)[0]
    entry = [float(bottom.mean()) if bottom.size else w / 2, float(h)]
    palm = lm[[0, 5, 9, 13, 17]].mean(0)
    clip = lambda p: [float(np.clip(p[0], 0, w)), float(np.clip(p[1], 0, h))]  # noqa: E731
    target, exit_dir, subtype = pick_pose(name)
    meta = {
        "anchors": {"palm": clip(palm), "wrist": clip(lm[0]), "entry": entry},
        "targets": {"palm": target, "entry": exit_dir},
        "scale": {"measure": "face_height", "length": max(float(np.hypot(*(lm[12] - lm[0]))), 1.0),
                  "range": [0.75, 1.0]},
        "rotation": [-20.0, 20.0], "mirror": True, "zones": [], "exit_edge": "bottom",
        "tags": {"hand_landmarks": [[round(float(x), 2), round(float(y), 2)] for x, y in lm]},
    }
    return meta, subtype
