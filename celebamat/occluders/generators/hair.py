"""Procedural hair: fringes, locks and single strands of tapered sub-pixel Bezier strands (4x supersampled)."""

from __future__ import annotations

import cv2
import numpy as np

from celebamat.occluders.draw import Canvas, bezier, srgb

HAIR_COLOURS = {
    "black": (18, 14, 13), "dark_brown": (58, 36, 22), "light_brown": (120, 84, 52),
    "blond": (214, 178, 118), "red": (150, 62, 30), "grey": (172, 170, 166),
}
SS = 4


def _strand(cv: Canvas, ctrl: np.ndarray, width: float, color: np.ndarray, opacity: float) -> None:
    """Draw one tapered strand (``width`` in output px at the root) with per-segment thinning."""
    pts = bezier(ctrl * cv.ss, 40)
    n = len(pts)
    lo = np.floor(pts.min(0)).astype(int) - 8
    hi = np.ceil(pts.max(0)).astype(int) + 8
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [cv.W, cv.H])
    if np.any(hi <= lo):
        return
    m = np.zeros((hi[1] - lo[1], hi[0] - lo[0]), np.uint8)
    for k in range(4):  # thinner towards the tip
        seg = pts[k * (n - 1) // 4: (k + 1) * (n - 1) // 4 + 1] - lo
        th = max(1, int(round(width * cv.ss * (1 - 0.22 * k))))
        val = int(255 * (1 - 0.18 * k))
        cv2.polylines(m, [np.round(seg * 16).astype(np.int32)], False, val, th, cv2.LINE_AA, shift=4)
    a = m.astype(np.float64) / 255 * opacity
    cv.over(color, a, lo[1], lo[0])


def _colour(rng: np.random.Generator, base: np.ndarray, sheen: float) -> np.ndarray:
    c = base * rng.uniform(0.75, 1.2) + sheen * 0.25 * (1 - base)
    return np.clip(c + rng.normal(0, 0.02, 3), 0, 1).astype(np.float64)


def generate(rng: np.random.Generator, index: int, subtype: str) -> tuple[dict, np.ndarray]:
    colours = list(HAIR_COLOURS)
    cname = colours[index % len(colours)]
    base = srgb(HAIR_COLOURS[cname])
    curl = float(rng.choice([0.0, 0.0, 0.5, 1.0]))
    if subtype == "fringe":
        W, H = int(rng.integers(300, 340)), int(rng.integers(150, 200))
        cv = Canvas(W, H, SS)
        x0, x1 = 0.1 * W, 0.9 * W
        n = int(rng.integers(700, 1000))
        part = rng.uniform(0.3, 0.7)  # where the fringe parts: strands sweep away from it
        for _ in range(n):
            u = rng.uniform(0, 1)
            x = x0 + u * (x1 - x0)
            side = (u - part)
            length = H * rng.uniform(0.55, 0.92) * (1 - 0.35 * abs(side) ** 1.5)
            sweep = side * rng.uniform(20, 50) + rng.normal(0, 6)
            wig = curl * rng.normal(0, 10)
            ctrl = np.array([[x + rng.normal(0, 3), -2.0], [x + sweep * 0.3 + wig, length * 0.35],
                             [x + sweep * 0.8 - wig, length * 0.7], [x + sweep, length]])
            ctrl[:, 0] = np.clip(ctrl[:, 0], 6, W - 6)
            sheen = float(np.exp(-((length * 0.3 - 0.25 * H) / (0.12 * H)) ** 2))
            _strand(cv, ctrl, rng.uniform(0.35, 0.9), _colour(rng, base, sheen * rng.uniform(0, 1)),
                    rng.uniform(0.55, 0.95))
        for _ in range(int(rng.integers(8, 20))):  # flyaways
            x = rng.uniform(x0, x1)
            length = H * rng.uniform(0.6, 0.9)
            ctrl = np.array([[x, -2.0], [x + rng.normal(0, 25), length * 0.5], [x + rng.normal(0, 40), length]])
            ctrl[:, 0] = np.clip(ctrl[:, 0], 6, W - 6)
            _strand(cv, ctrl, 0.3, _colour(rng, base, 0.3), 0.6)
        anchors = {"root_left": [float(x0), float(0.55 * H)], "root_right": [float(x1), float(0.55 * H)],
                   "top": [W / 2, 0.0]}
        targets = {"root_left": "temple_left", "root_right": "temple_right", "top": "exit_up"}
        scale = {"measure": "face_width", "length": float(x1 - x0), "range": [0.95, 1.05]}
    else:
        W, H = int(rng.integers(120, 180)), int(rng.integers(260, 360))
        cv = Canvas(W, H, SS)
        n = int(rng.integers(140, 260)) if subtype == "lock" else int(rng.integers(4, 14))
        spread_root = W * (0.12 if subtype == "lock" else 0.05)
        cx = W / 2
        # The lock's centre line: an S-curve from the root down to a tip off to one side.
        dx = rng.uniform(-0.3, 0.3) * W
        centre = np.array([[cx, -2.0], [cx + rng.normal(0, 0.1) * W, 0.33 * H],
                           [cx + dx - rng.normal(0, 0.1) * W, 0.66 * H], [cx + dx, 0.92 * H]])
        centre[:, 0] = np.clip(centre[:, 0], 0.25 * W, 0.75 * W)
        for _ in range(n):
            off = rng.normal(0, spread_root)
            fan = rng.normal(0, 0.25) * W * (0.6 if subtype == "lock" else 1.0) * curl
            length = rng.uniform(0.75, 1.0)
            ctrl = centre.copy()
            ctrl[:, 0] += off * np.array([1, 1.2, 1.0, 0.4]) + fan * np.array([0, 0.4, -0.6, 0.5])
            ctrl[1:, 1] *= length
            ctrl[:, 0] = np.clip(ctrl[:, 0], 6, W - 6)
            ctrl[1:, 1] = np.clip(ctrl[1:, 1], 0, H - 6)
            _strand(cv, ctrl, rng.uniform(0.4, 1.0), _colour(rng, base, rng.uniform(0, 0.6)),
                    rng.uniform(0.6, 0.95))
        tip = centre[-1]
        mid = bezier(centre, 5)[3]
        anchors = {"root": [float(cx), 0.0], "middle": [float(mid[0]), float(mid[1])],
                   "tip": [float(tip[0]), float(min(tip[1], H))]}
        face = ["eye_left", "eye_right", "cheek_left", "cheek_right", "brow_left", "brow_right"][index % 6]
        targets = {"middle": face, "root": "exit_up"}
        scale = {"measure": "face_height", "length": float(H), "range": [0.55, 0.9]}
    rgba = cv.to_rgba8()
    meta = {"kind": "hair", "subtype": subtype, "anchors": anchors, "targets": targets, "scale": scale,
            "rotation": [-12.0, 12.0], "mirror": True, "zones": [], "layer": 10,
            "tags": {"colour": cname, "curl": curl}, "exit_edge": "top"}
    return meta, rgba
