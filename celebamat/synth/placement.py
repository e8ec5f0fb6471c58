"""Landmark-aware placement: where an occluder asset goes on a face.

An asset declares anchor points and the face anchors (or off-face exit directions) they go to. With two or
more face targets the similarity transform is fitted by least squares (scale and rotation come from the face);
with one face target plus an exit anchor, the asset is scaled by a face measure and turned so that it leaves
the face in the exit direction; assets without targets go to a sampled face zone. The result is then jittered
within the asset's allowed ranges. All randomness comes from the ``rng`` passed in.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from celebamat.landmarks import EXIT_DIRECTIONS, FaceFrame

#: Face zones for assets without anchored targets -> the face anchor at the zone's centre.
ZONE_ANCHORS = {
    "eyes": "eyes_center",
    "eye_left": "eye_left",
    "eye_right": "eye_right",
    "mouth": "mouth_center",
    "nose": "nose_tip",
    "forehead": "forehead",
    "cheek_left": "cheek_left",
    "cheek_right": "cheek_right",
    "chin": "chin",
    "face": "face_center",
}

_SWAP_EXIT = {"exit_left": "exit_right", "exit_right": "exit_left"}
_SWAP_EDGE = {"left": "right", "right": "left"}


def _swap_side(name: str) -> str:
    if name in _SWAP_EXIT:
        return _SWAP_EXIT[name]
    for a, b in (("_left", "_right"), ("_right", "_left")):
        if name.endswith(a):
            return name[: -len(a)] + b
    return name


def mirrored_geometry(
    anchors: Mapping[str, tuple[float, float]], targets: Mapping[str, str], width: int, exit_edge: str | None
) -> tuple[dict[str, tuple[float, float]], dict[str, str], str | None]:
    """Anchors, targets and exit edge of the horizontally mirrored asset (x -> width - x, sides swapped)."""
    a = {k: (float(width - x), float(y)) for k, (x, y) in anchors.items()}
    t = {k: _swap_side(v) for k, v in targets.items()}
    e = _SWAP_EDGE.get(exit_edge, exit_edge) if exit_edge else exit_edge
    return a, t, e


def similarity_fit(src: np.ndarray, dst: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Least-squares similarity (no reflection) taking ``src`` points to ``dst`` points.

    Args:
        src, dst: ``(N, 2)`` arrays, ``N >= 2``.

    Returns:
        ``(scale, angle, translation)`` with angle in radians, such that
        ``dst ~= scale * R(angle) @ src + translation``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[0] < 2:
        raise ValueError(f"need two matching (N>=2, 2) point sets, got {src.shape} and {dst.shape}")
    ms, md = src.mean(0), dst.mean(0)
    s0, d0 = src - ms, dst - md
    var = (s0**2).sum()
    if var <= 1e-12:
        raise ValueError("source anchors coincide; cannot fit a similarity")
    # With complex numbers z = x + iy the optimal similarity is d = c * s, c = sum(conj(s) d) / sum(|s|^2).
    zs = s0[:, 0] + 1j * s0[:, 1]
    zd = d0[:, 0] + 1j * d0[:, 1]
    c = (np.conj(zs) * zd).sum() / var
    scale, angle = float(abs(c)), float(np.angle(c))
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    t = md - scale * rot @ ms
    return scale, angle, t


def similarity_matrix(scale: float, angle: float, translation: np.ndarray) -> np.ndarray:
    """``(2, 3)`` affine of ``x -> scale * R(angle) x + translation``."""
    c, s = math.cos(angle) * scale, math.sin(angle) * scale
    return np.array([[c, -s, translation[0]], [s, c, translation[1]]], dtype=np.float64)


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The affine ``a after b`` (apply ``b`` first), both ``(2, 3)``."""
    a3 = np.vstack([a, [0, 0, 1]])
    b3 = np.vstack([b, [0, 0, 1]])
    return (a3 @ b3)[:2]


def apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a ``(2, 3)`` affine to ``(N, 2)`` points."""
    pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    return pts @ m[:, :2].T + m[:, 2]


def exit_vector(direction: str, frame: FaceFrame, origin: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit vector, in image coordinates, of an off-face direction in the face frame."""
    if direction not in EXIT_DIRECTIONS:
        raise ValueError(f"unknown exit direction {direction!r}; allowed: {', '.join(EXIT_DIRECTIONS)}")
    if direction == "exit_down":
        return frame.down
    if direction == "exit_up":
        return -frame.down
    if direction == "exit_left":
        return -frame.right
    if direction == "exit_right":
        return frame.right
    side = float(np.dot(origin - np.asarray(frame.center), frame.right))
    if abs(side) < 1e-6:
        side = 1.0 if rng.random() < 0.5 else -1.0
    out = frame.right * math.copysign(1.0, side)
    if direction == "exit_down_side":
        out = (out + frame.down) / math.sqrt(2.0)
    return out


def place_asset(
    rng: np.random.Generator,
    asset: Any,
    face_anchors: Mapping[str, np.ndarray],
    frame: FaceFrame,
    *,
    mirrored: bool = False,
    jitter: float = 0.08,
) -> np.ndarray:
    """Sample the transform that puts ``asset`` on a face.

    Args:
        rng: the sample's generator (the only source of randomness).
        asset: an ``OccluderAsset`` (uses ``size``, ``anchors``, ``targets``, ``scale``, ``rotation``, ``zones``,
            ``exit_edge``).
        face_anchors: from :func:`celebamat.landmarks.face_anchors`.
        frame: from :func:`celebamat.landmarks.face_frame`.
        mirrored: place the horizontally mirrored asset.
        jitter: extra translation jitter in inter-ocular distances (standard deviation).

    Returns:
        ``(2, 3)`` float64 affine from pixels of the *unmirrored* asset to image pixels.
    """
    w, h = int(asset.size[0]), int(asset.size[1])
    anchors, targets = dict(asset.anchors), dict(asset.targets)
    if mirrored:
        anchors, targets, _ = mirrored_geometry(anchors, targets, w, asset.exit_edge)
    face_pairs = [(k, v) for k, v in targets.items() if v in face_anchors]
    exits = [(k, v) for k, v in targets.items() if v in EXIT_DIRECTIONS]
    rot_lo, rot_hi = asset.rotation
    d_angle = math.radians(float(rng.uniform(rot_lo, rot_hi)))
    sc = asset.scale or {}
    s_lo, s_hi = sc.get("range", (1.0, 1.0))
    s_draw = float(rng.uniform(s_lo, s_hi))
    shift = rng.normal(0.0, jitter, size=2) * frame.iod

    if len(face_pairs) >= 2:
        src = np.array([anchors[k] for k, _ in face_pairs])
        dst = np.array([face_anchors[v] for _, v in face_pairs])
        scale, angle, t = similarity_fit(src, dst)
        pivot = dst.mean(0)
        s_about = s_draw
    else:
        s_about = 1.0
        scale = s_draw * frame.measure(sc.get("measure", "iod")) / float(sc.get("length", max(w, h)))
        if face_pairs:
            key, target = face_pairs[0]
            pivot = np.asarray(face_anchors[target], dtype=np.float64)
            src_pt = np.asarray(anchors[key], dtype=np.float64)
        else:
            zones = list(asset.zones) or ["face"]
            zone = zones[int(rng.integers(len(zones)))]
            pivot = np.asarray(face_anchors[ZONE_ANCHORS.get(zone, "face_center")], dtype=np.float64)
            pivot = pivot + rng.uniform(-0.25, 0.25, size=2) * frame.iod
            src_pt = np.asarray(anchors.get("center", (w / 2, h / 2)), dtype=np.float64)
        if exits:
            key, direction = exits[0]
            d_asset = np.asarray(anchors[key], dtype=np.float64) - src_pt
            d_face = exit_vector(direction, frame, pivot, rng)
            angle = math.atan2(d_face[1], d_face[0]) - math.atan2(d_asset[1], d_asset[0])
        else:
            angle = frame.roll
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        t = pivot - scale * rot @ src_pt

    # Jitter the fitted similarity about the pivot (rotation and extra scale), then shift.
    base = similarity_matrix(scale, angle, t)
    about = compose(
        similarity_matrix(s_about, d_angle, pivot + shift),
        similarity_matrix(1.0, 0.0, -pivot),
    )
    m = compose(about, base)
    if mirrored:
        flip = np.array([[-1.0, 0.0, float(w)], [0.0, 1.0, 0.0]])
        m = compose(m, flip)
    return m
