"""Procedural hands from a 21-joint skeleton (mediapipe hand topology), forearm leaving the bottom border.

Geometry is built in *hand units* (wrist to middle fingertip = 1, origin at the wrist, y up), posed with
per-joint flexion (3D, orthographic projection), then drawn at 3x supersampling: each phalanx is a tapered
capsule shaded as a cylinder, the palm a rounded slab, with contact shadows, creases, nails and palm lines.
Joint indices: 0 wrist; thumb 1-4 (CMC, MCP, IP, tip); index 5-8; middle 9-12; ring 13-16; pinky 17-20.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from celebamat.occluders.draw import (Canvas, bezier, env_reflection, fbm, height_from_mask, lambert, normals,
                                      poly_mask, soft, soft_coarse, specular, srgb, stroke_mask)

#: Skin tones, light to dark (sRGB 0-255), with the palm tint each blends toward.
SKIN_TONES = {
    "light": ((238, 200, 176), (240, 196, 180)),
    "fair": ((226, 178, 146), (236, 186, 168)),
    "medium": ((200, 146, 108), (222, 168, 146)),
    "olive": ((172, 122, 84), (210, 154, 128)),
    "brown": ((128, 84, 56), (196, 140, 116)),
    "dark": ((84, 54, 38), (176, 122, 100)),
}
# Mostly frontal: the direction of the light is the photo's, given at compositing time (celebamat.synth.lighting);
# the asset carries the form shading of a soft frontal light only.
_LIGHT = (-0.18, -0.3, 0.94)  # x right, y down, z to viewer

# name: (MCP x, MCP y, finger length, base radius, tip radius, base angle deg)
_FINGERS = {
    "index": (0.135, 0.470, 0.465, 0.046, 0.037, 7.0),
    "middle": (0.045, 0.485, 0.515, 0.048, 0.038, 0.0),
    "ring": (-0.045, 0.465, 0.485, 0.045, 0.036, -6.0),
    "pinky": (-0.128, 0.420, 0.380, 0.039, 0.031, -14.0),
}
_PHALANX = (0.46, 0.30, 0.24)

# Poses: per finger (spread deg, [mcp, pip, dip] flexion deg); thumb (angle deg, [cmc, mcp, ip] flexion).
_STRAIGHT = (0.0, (6, 8, 5))
_CURLED = (0.0, (88, 100, 65))
POSES = {
    "flat": {"index": (0, (8, 12, 7)), "middle": (0, (7, 11, 7)), "ring": (0, (9, 13, 8)),
             "pinky": (0, (11, 14, 8)), "thumb": (40, (15, 12, 8)), "spread": 0.2},
    "spread": {"index": (0, (4, 6, 4)), "middle": (0, (4, 6, 4)), "ring": (0, (6, 8, 5)),
               "pinky": (0, (8, 8, 5)), "thumb": (58, (8, 8, 5)), "spread": 1.5},
    "fist": {"index": (0, (85, 100, 62)), "middle": (0, (88, 100, 62)), "ring": (0, (90, 102, 64)),
             "pinky": (0, (92, 104, 66)), "thumb": (20, (40, 35, 25)), "spread": 0.3},
    "point": {"index": (0, (4, 6, 4)), "middle": (0, (88, 100, 62)), "ring": (0, (90, 102, 64)),
              "pinky": (0, (92, 104, 66)), "thumb": (22, (42, 38, 25)), "spread": 0.4},
    "peace": {"index": (9, (4, 6, 4)), "middle": (-7, (4, 6, 4)), "ring": (0, (90, 102, 64)),
              "pinky": (0, (92, 104, 66)), "thumb": (20, (45, 40, 25)), "spread": 0.8},
    "grip": {"index": (0, (45, 62, 40)), "middle": (0, (48, 64, 40)), "ring": (0, (50, 66, 42)),
             "pinky": (0, (52, 68, 44)), "thumb": (70, (25, 20, 10)), "spread": 0.4},
}

#: subtype -> (pose, preferred views, wrist bend range deg, target anchor, face targets, scale range)
SUBTYPES = {
    "cover_mouth": ("flat", ("back", "back", "palm"), (20, 35), "palm", ("mouth_center",), (0.8, 1.0)),
    "on_cheek": ("flat", ("back", "back", "palm"), (-15, 15), "palm", ("cheek_left", "cheek_right"), (0.8, 1.0)),
    "chin_rest": ("fist", ("palm", "back"), (-10, 10), "knuckles", ("chin",), (0.8, 1.0)),
    "over_eyes": ("spread", ("back", "back", "palm"), (-10, 10), "fingers", ("eyes_center", "eye_left", "eye_right"), (0.85, 1.05)),
    "finger_on_lips": ("point", ("back", "palm"), (-8, 8), "index_pad", ("mouth_center", "mouth_center", "nose_tip"), (0.8, 1.0)),
    "peace_sign": ("peace", ("palm", "back"), (-15, 15), "palm", ("cheek_left", "cheek_right"), (0.75, 0.95)),
    "holding": ("grip", ("back", "palm"), (-10, 10), "object", ("mouth_center", "mouth_left", "mouth_right"), (0.8, 1.0)),
}


@dataclass
class _Seg:
    p0: np.ndarray  # hand units, 2D projected
    p1: np.ndarray
    r0: float
    r1: float
    z: float
    finger: str
    index: int  # phalanx index 0..2 (thumb: 0 metacarpal .. 2 distal)
    phi: float = 0.0  # cumulative flexion (rad): past 90 deg the finger shows its back side


def _skeleton(pose: dict, view: str, rng: np.random.Generator) -> tuple[np.ndarray, list[_Seg], np.ndarray]:
    """Return joints ``(21, 2)``, capsule segments and joint depths ``(21,)`` in hand units."""
    s = 1.0 if view == "palm" else -1.0  # flexion comes toward the viewer when the palm faces it
    joints = np.zeros((21, 2))
    depth = np.zeros(21)
    segs: list[_Seg] = []
    spread = pose["spread"] * rng.uniform(0.8, 1.2)
    for fi, (name, (mx, my, length, rb, rt, ang)) in enumerate(_FINGERS.items()):
        extra, flex = pose[name]
        flex = np.asarray(flex, float) + rng.normal(0, 4, 3)
        a = math.radians(ang * spread + extra + rng.normal(0, 1.5))
        base = 5 + 4 * fi
        p = np.array([mx, my])
        z = 0.0
        joints[base], depth[base] = p, z
        phi = 0.0
        # Tapering towards a slimmer, flatter fingertip (a round tip reads as a sausage).
        radii = np.array([rb, 0.5 * (rb + rt), rt, 0.8 * rt])
        for k in range(3):
            phi += math.radians(max(flex[k], -5))
            seg_len = length * _PHALANX[k]
            d = np.array([math.sin(a) * math.cos(phi), math.cos(a) * math.cos(phi)])
            q = p + seg_len * d
            zq = z + s * seg_len * math.sin(phi)
            segs.append(_Seg(p.copy(), q.copy(), radii[k] * 1.08, radii[k + 1] * 1.08, (z + zq) / 2, name, k, phi))
            p, z = q, zq
            joints[base + 1 + k], depth[base + 1 + k] = p, z
    t_ang, t_flex = pose["thumb"]
    a = math.radians(t_ang + rng.normal(0, 3))
    flex = np.asarray(t_flex, float) + rng.normal(0, 3, 3)
    p, z = np.array([0.085, 0.10]), 0.02
    joints[1], depth[1] = p, z
    phi, bend = 0.0, 0.0
    for k, (seg_len, r0, r1) in enumerate(((0.20, 0.062, 0.052), (0.17, 0.050, 0.046), (0.15, 0.046, 0.033))):
        phi += math.radians(flex[k])
        bend -= math.radians(flex[k]) * 0.55  # the thumb curls across the palm as it flexes
        d = np.array([math.sin(a + bend) * math.cos(phi * 0.6), math.cos(a + bend) * math.cos(phi * 0.6)])
        q = p + seg_len * d
        zq = z + s * seg_len * math.sin(phi * 0.6) + 0.01
        segs.append(_Seg(p.copy(), q.copy(), r0, r1, (z + zq) / 2 + (0.04 if k else 0.0), "thumb", k))
        p, z = q, zq
        joints[2 + k], depth[2 + k] = p, z
    return joints, segs, depth


def _capsule(shape: tuple[int, int], p0: np.ndarray, p1: np.ndarray, r0: float, r1: float):
    """Coverage and normals of a tapered capsule on a grid (all in grid px). Returns (bbox, cov, n)."""
    H, W = shape
    pad = max(r0, r1) + 2
    x0, x1 = int(max(0, min(p0[0], p1[0]) - pad)), int(min(W, max(p0[0], p1[0]) + pad + 1))
    y0, y1 = int(max(0, min(p0[1], p1[1]) - pad)), int(min(H, max(p0[1], p1[1]) + pad + 1))
    if x1 <= x0 or y1 <= y0:
        return None
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    d = p1 - p0
    L2 = float(d @ d) + 1e-9
    t = np.clip(((xx - p0[0]) * d[0] + (yy - p0[1]) * d[1]) / L2, 0, 1)
    cx, cy = p0[0] + t * d[0], p0[1] + t * d[1]
    r = r0 + (r1 - r0) * t
    vx, vy = xx - cx, yy - cy
    dist = np.sqrt(vx * vx + vy * vy)
    cov = np.clip(r - dist + 0.5, 0, 1)
    u = np.clip(dist / r, 0, 1)
    nz = np.sqrt(np.clip(1 - u * u, 0, 1)) + 0.15
    inv = 1 / np.maximum(dist, 1e-6)
    n = np.stack([vx * inv * u, vy * inv * u, nz], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    return (y0, y1, x0, x1), cov.astype(np.float64), n.astype(np.float64), t


def make_hand(rng: np.random.Generator, subtype: str, tone: str, view: str, mirror_x: bool,
              hand_px: float) -> tuple[np.ndarray, dict[str, list[float]], dict]:
    """Render one hand asset. Returns (rgba ``(h,w,4)`` uint8, anchors in px, extra info)."""
    pose_name, _, bend_rng, _, _, _ = SUBTYPES[subtype]
    pose = POSES[pose_name]
    joints, segs, depth = _skeleton(pose, view, rng)
    bend = math.radians(rng.uniform(*bend_rng))
    # Rotate the hand about the wrist (wrist bend), mirror for the other hand.
    c, s_ = math.cos(bend), math.sin(bend)
    R = np.array([[c, s_], [-s_, c]])  # positive bend tilts the fingers to -x (image left)

    def tf(p: np.ndarray) -> np.ndarray:
        q = np.asarray(p, float) @ R.T
        return q * np.array([-1.0 if mirror_x else 1.0, 1.0])

    palm_poly = np.array([[-0.12, 0.0], [-0.165, 0.13], [-0.19, 0.30], [-0.17, 0.42], [-0.09, 0.47],
                          [0.0, 0.49], [0.09, 0.485], [0.175, 0.47], [0.20, 0.36], [0.18, 0.20],
                          [0.13, 0.04], [0.11, 0.0]])
    for _ in range(3):  # Chaikin corner cutting: a rounded palm outline
        q = np.roll(palm_poly, -1, axis=0)
        palm_poly = np.stack([0.75 * palm_poly + 0.25 * q, 0.25 * palm_poly + 0.75 * q], 1).reshape(-1, 2)
    forearm_len = 0.42
    obj = None
    if pose_name == "grip":  # an object held in the grip (cup or can), drawn between palm and fingers
        w_o = rng.uniform(0.26, 0.34)
        h_o = rng.uniform(0.55, 0.75)
        cx = 0.0
        cy = 0.62
        obj = {"w": w_o, "h": h_o, "cx": cx, "cy": cy,
               "color": np.array(rng.choice([[0.85, 0.2, 0.2], [0.92, 0.92, 0.9], [0.2, 0.45, 0.8],
                                             [0.95, 0.75, 0.2], [0.3, 0.65, 0.4]])) * rng.uniform(0.85, 1.0)}
    # Bounding box in hand units after the transform, to size the canvas.
    pts = [tf(p) for p in palm_poly] + [tf(j) for j in joints]
    if obj:
        pts += [tf(np.array([obj["cx"] + sx * obj["w"] / 2, obj["cy"] + sy * obj["h"] / 2]))
                for sx in (-1, 1) for sy in (-1, 1)]
    pts = np.array(pts)
    margin = 0.07
    xmin, xmax = pts[:, 0].min() - margin, pts[:, 0].max() + margin
    ymax = pts[:, 1].max() + margin
    xmin, xmax = min(xmin, -0.2), max(xmax, 0.2)
    ss = 3
    W = int(math.ceil((xmax - xmin) * hand_px))
    Hh = int(math.ceil((ymax + forearm_len) * hand_px))
    cv = Canvas(W, Hh, ss)
    S = hand_px * ss

    def px(p: np.ndarray) -> np.ndarray:  # hand units -> supersampled grid px (y down)
        p = np.atleast_2d(p)
        return np.stack([(p[:, 0] - xmin) * S, (ymax - p[:, 1]) * S], -1)

    tone_rgb, palm_rgb = SKIN_TONES[tone]
    base = srgb(tone_rgb) * rng.uniform(0.95, 1.04, 3).astype(np.float64)
    palm_col = base * 0.55 + srgb(palm_rgb) * 0.45
    skin_noise = fbm(rng, (cv.H, cv.W), 18 * ss, 4)
    mottle = (1 + 0.07 * (skin_noise - 0.5))[..., None]
    shape = (cv.H, cv.W)

    # Forearm: a slightly tapered cylinder running straight down off the bottom border.
    wrist_c = px(tf(np.array([0.0, 0.0])))[0]
    arm_dir = np.array([0.0, 1.0])
    arm_far = wrist_c + arm_dir * (forearm_len + ymax + 1.0) * S
    skin_layer_col = np.zeros((cv.H, cv.W, 3), np.float64)

    def paint(cov_full: np.ndarray, col: np.ndarray, shade: np.ndarray, shadow: bool = True,
              spec: np.ndarray | None = None) -> None:
        rows, cols = np.flatnonzero(cov_full.any(1)), np.flatnonzero(cov_full.any(0))
        if rows.size == 0:
            return
        pad = int(0.15 * S)
        y0, y1 = max(0, rows[0] - pad), min(cv.H, rows[-1] + pad + 1)
        x0, x1 = max(0, cols[0] - pad), min(cv.W, cols[-1] + pad + 1)
        sl = (slice(y0, y1), slice(x0, x1))
        cov = cov_full[sl]
        if shadow:  # soft contact shadow cast by this part on what lies under it
            off = (np.array([-_LIGHT[0], -_LIGHT[1]]) * 0.035 * S).astype(np.float64)
            M = np.float64([[1, 0, off[0]], [0, 1, off[1]]])
            sh = cv2.warpAffine(cov, M, (x1 - x0, y1 - y0))
            sh = soft_coarse(sh, 0.03 * S)
            cv.rgb[sl] *= (1 - 0.3 * sh * (1 - cov))[..., None]
        col = np.asarray(col)
        # Skin scatters red light: shaded parts turn warmer rather than greyer (per-channel falloff).
        sh3 = shade[sl][..., None] ** np.array([0.8, 1.0, 1.2])
        c = (col[sl] if col.ndim == 3 else col) * sh3 * mottle[sl]
        if spec is not None:
            c = c + spec[sl][..., None] * 0.05
        cv.over(np.clip(c, 0, 1), cov, y0, x0)

    def capsule_layer(p0, p1, r0, r1, extend_out=False):
        res = _capsule(shape, p0, p1, r0, r1)
        cov = np.zeros(shape, np.float64)
        n = np.zeros((*shape, 3), np.float64)
        n[..., 2] = 1
        tt = np.zeros(shape, np.float64)
        if res is not None:
            (y0, y1, x0, x1), c, nn, t = res
            cov[y0:y1, x0:x1], n[y0:y1, x0:x1], tt[y0:y1, x0:x1] = c, nn, t
        return cov, n, tt

    # Forearm (drawn first; the hand overlaps it).
    ww = 0.125 * S
    cov, n, _ = capsule_layer(wrist_c + np.array([0, 0.02 * S]), arm_far, ww, ww * 1.22)
    paint(cov, base, lambert(n, _LIGHT, 0.62), shadow=False, spec=specular(n, _LIGHT, 12))

    palm_px = px(np.array([tf(p) for p in palm_poly]))
    palm_cov = poly_mask(shape, palm_px)
    palm_cov = soft(palm_cov, 0.006 * S)
    palm_cov = np.clip((palm_cov - 0.5) * 3 + 0.5, 0, 1)
    hgt = height_from_mask(palm_cov, 0.07 * S)
    pn = normals(hgt, 0.025 * S)
    surface_col = palm_col if view == "palm" else base

    segs_px = []
    for sg in segs:
        segs_px.append((sg, px(tf(sg.p0))[0], px(tf(sg.p1))[0]))
    behind = [x for x in segs_px if x[0].z < -0.005]
    front = [x for x in segs_px if x[0].z >= -0.005]
    behind.sort(key=lambda x: x[0].z)
    front.sort(key=lambda x: (x[0].z, x[0].finger == "thumb"))

    def draw_segments(items):
        for sg, a, b in items:
            cov, n, t = capsule_layer(a, b, sg.r0 * S, sg.r1 * S)
            shade = lambert(n, _LIGHT, 0.6)
            col = surface_col if (view == "palm" and sg.z > -0.005) else base
            # Fingertips are a little redder.
            if sg.index == 2:
                red = np.clip(t - 0.3, 0, 1)[..., None] * 0.16
                col_map = col * (1 - red) + np.array([0.85, 0.42, 0.4], np.float64) * red
            else:
                col_map = np.broadcast_to(col, (*shape, 3))
            paint(cov, col_map, shade, spec=specular(n, _LIGHT, 16))
            details(sg, a, b, cov)

    def details(sg: _Seg, a: np.ndarray, b: np.ndarray, cov: np.ndarray) -> None:
        d = b - a
        L = np.linalg.norm(d) + 1e-6
        u = d / L
        v = np.array([-u[1], u[0]])
        r0, r1 = sg.r0 * S, sg.r1 * S
        facing_palm = (view == "palm") != (sg.phi > math.radians(95))
        if L < 0.35 * (r0 + r1):  # strongly foreshortened: no readable detail
            return
        lines = []
        if facing_palm:
            # Flexion creases at the proximal end of each phalanx (and a double one at the finger base).
            for off in ((0.04, 0.10) if sg.index == 0 and sg.finger != "thumb" else (0.04,)):
                c0 = a + u * off * L
                lines.append((np.array([c0 - v * r0 * 0.8, c0 + u * 0.02 * L, c0 + v * r0 * 0.8]), 0.93))
        else:
            if sg.index in (1, 2) and sg.finger != "thumb" or (sg.finger == "thumb" and sg.index == 2):
                # Knuckle wrinkles: a few short arcs over the joint.
                for k in range(3 if sg.index == 1 else 2):
                    c0 = a + u * (0.02 + 0.05 * k) * L - u * 0.08 * L
                    w_ = r0 * (0.45 - 0.08 * k)
                    lines.append((np.array([c0 - v * w_, c0 - u * 0.03 * L, c0 + v * w_]), 0.95))
        # Everything below is local to the phalanx: work on its box (a margin wide enough for every blur).
        pad = max(r0, r1) + 0.08 * S
        bx0, by0 = int(max(0, min(a[0], b[0]) - pad)), int(max(0, min(a[1], b[1]) - pad))
        bx1, by1 = int(min(cv.W, max(a[0], b[0]) + pad + 1)), int(min(cv.H, max(a[1], b[1]) + pad + 1))
        if bx1 <= bx0 or by1 <= by0:
            return
        lo = np.array([bx0, by0], np.float64)
        box = (slice(by0, by1), slice(bx0, bx1))
        lshape = (by1 - by0, bx1 - bx0)
        lcov = cov[box]
        rgb, alpha = cv.rgb[box], cv.a[box]
        for ctrl, strength in lines:
            m = stroke_mask(lshape, bezier(ctrl - lo, 12), 0.006 * S) * lcov
            m = soft(m, 0.006 * S)  # creases as soft relief, not drawn lines
            rgb *= (1 - (1 - strength) * np.clip(m * 1.5, 0, 1))[..., None]
        if not facing_palm and sg.index == 2:
            # Nail: a rounded plate on the distal phalanx, lighter, with a highlight and darker rim.
            c0 = a + u * 0.62 * L - lo
            ax = (int(round(0.33 * L)), int(round(r1 * 0.68)))
            ang = math.degrees(math.atan2(u[1], u[0]))
            m = np.zeros(lshape, np.uint8)
            cv2.ellipse(m, (int(c0[0]), int(c0[1])), ax, ang, 0, 360, 255, -1, cv2.LINE_AA)
            nail = (m.astype(np.float64) / 255) * lcov
            tone_n = np.clip(base * 0.45 + np.array([0.93, 0.78, 0.76], np.float64) * 0.55, 0, 1)
            rim = np.clip(nail - cv2.erode(nail, np.ones((3, 3), np.uint8)), 0, 1)
            cur = rgb / np.maximum(alpha[..., None], 1e-4)
            nail_shade = lambert(normals(height_from_mask(nail, 0.01 * S), 0), _LIGHT, 0.6)
            newc = cur * (1 - nail[..., None]) + (tone_n * (0.8 + 0.25 * nail_shade[..., None])) * nail[..., None]
            newc = newc * (1 - 0.25 * soft(rim, 1.0)[..., None])
            hl = np.zeros(lshape, np.uint8)
            c1 = c0 - v * r1 * 0.25
            cv2.ellipse(hl, (int(c1[0]), int(c1[1])), (max(1, int(0.18 * L)), max(1, int(r1 * 0.12))), ang, 0,
                        360, 255, -1, cv2.LINE_AA)
            hl = soft(hl.astype(np.float64) / 255, 0.004 * S) * nail
            newc = newc + hl[..., None] * 0.25
            rgb[:] = np.clip(newc, 0, 1) * alpha[..., None]

    def draw_object() -> None:
        """A held cup or can: a cylinder, shaded across its width, slightly wider at the bottom."""
        ocx, ocy, ow, oh = obj["cx"], obj["cy"], obj["w"], obj["h"]
        corners = np.array([[ocx - ow / 2, ocy + oh / 2], [ocx + ow / 2, ocy + oh / 2],
                            [ocx + ow / 2 * 0.9, ocy - oh / 2], [ocx - ow / 2 * 0.9, ocy - oh / 2]])
        m = poly_mask(shape, px(np.array([tf(p) for p in corners])))
        axis_a = px(tf(np.array([ocx, ocy - oh / 2])))[0]
        axis_b = px(tf(np.array([ocx, ocy + oh / 2])))[0]
        res = _capsule(shape, axis_a, axis_b, ow / 2 * 0.9 * S, ow / 2 * S)
        n = np.zeros((*shape, 3), np.float64)
        n[..., 2] = 1
        if res is not None:
            (y0, y1, x0, x1), _, nn, _ = res
            n[y0:y1, x0:x1] = nn
        n[..., 1] *= 0.2  # a cylinder: normals vary across the width, hardly along the axis
        n /= np.linalg.norm(n, axis=-1, keepdims=True)
        # A glazed or lacquered surface: diffuse colour plus the mirrored room, rising at grazing angles.
        fres = 0.08 + 0.92 * (1.0 - np.clip(n[..., 2], 0, 1)) ** 5
        diffuse = lambert(n, _LIGHT, 0.5)[..., None]
        col = obj["color"].astype(np.float64) * (1 - fres[..., None]) / np.maximum(diffuse, 1e-3)
        col = col * diffuse + (env_reflection(n) * fres)[..., None]
        paint(m, np.clip(col, 0, 1), np.ones(shape), spec=specular(n, _LIGHT, 60) * 4)

    draw_segments(behind)
    if obj is not None and view == "back":
        draw_object()
    # Palm / back of the hand.
    paint(palm_cov, np.broadcast_to(surface_col, (*shape, 3)), lambert(pn, _LIGHT, 0.62),
          spec=specular(pn, _LIGHT, 14))
    if view == "palm":
        # Palm lines: heart, head and life lines as soft dark curves inside the palm.
        lines = [
            [(-0.17, 0.36), (-0.05, 0.39), (0.06, 0.40), (0.13, 0.44)],
            [(0.17, 0.33), (0.05, 0.30), (-0.05, 0.27), (-0.15, 0.23)],
            [(0.16, 0.32), (0.07, 0.26), (0.05, 0.14), (0.07, 0.03)],
        ]
        for ln in lines:
            ctrl = np.array([tf(np.array(p) + rng.normal(0, 0.008, 2)) for p in ln])
            m = stroke_mask(shape, px(bezier(ctrl, 24)), 0.007 * S) * palm_cov
            m = soft(m, 0.008 * S)
            cv.rgb *= (1 - 0.12 * np.clip(m * 1.4, 0, 1))[..., None]
    else:
        # Knuckle highlights on the back of the hand.
        for fi in (5, 9, 13, 17):
            kp = px(tf(joints[fi] + np.array([0, -0.02])))[0]
            m = np.zeros(shape, np.float64)
            cv2.circle(m, (int(kp[0]), int(kp[1])), int(0.03 * S), 1.0, -1, cv2.LINE_AA)
            m = soft(m, 0.02 * S) * palm_cov
            cv.rgb += (m * 0.04)[..., None] * cv.a[..., None]
    if obj is not None and view == "palm":
        draw_object()
    draw_segments(front)
    # The forearm leaves through the bottom border only; other borders are transparent by construction.
    rgba = cv.to_rgba8()
    h, w = rgba.shape[:2]

    def apx(p) -> list[float]:
        q = px(np.asarray(p))[0] / ss
        return [float(np.clip(q[0], 0, w)), float(np.clip(q[1], 0, h))]

    palm_c = tf(np.array([0.0, 0.26]))
    anchors = {
        "palm": apx(palm_c),
        "wrist": apx(tf(np.array([0.0, 0.0]))),
        "arm": [float(wrist_c[0] / ss), float(h)],
        "fingers": apx(tf(joints[[6, 10, 14, 18]].mean(0))),
        "knuckles": apx(tf(joints[[6, 7, 10, 11, 14, 15]].mean(0) + np.array([0, 0.03]))),
        "index_tip": apx(tf(joints[8])),
        "index_pad": apx(tf(joints[7] * 0.5 + joints[8] * 0.5)),
    }
    if obj is not None:
        anchors["object"] = apx(tf(np.array([obj["cx"], obj["cy"] + obj["h"] * 0.35])))
    info = {"hand_length_px": float(hand_px), "joints": [apx(tf(j)) for j in joints]}
    return rgba, anchors, info


def generate(rng: np.random.Generator, index: int, subtype: str) -> tuple[dict, np.ndarray]:
    """One hand asset: metadata (without file/size/split/source) and pixels."""
    pose_name, views, _, target_anchor, face_targets, rng_scale = SUBTYPES[subtype]
    tones = list(SKIN_TONES)
    tone = tones[index % len(tones)]
    view = views[index % len(views)]
    mirror_x = bool(index % 2)
    hand_px = float(rng.uniform(300, 340))
    rgba, anchors, info = make_hand(rng, subtype, tone, view, mirror_x, hand_px)
    target = face_targets[index % len(face_targets)]
    keep = {target_anchor, "arm", "wrist", "palm"}
    anchors = {k: v for k, v in anchors.items() if k in keep}
    meta = {
        "kind": "hand", "subtype": subtype,
        "anchors": anchors,
        "targets": {target_anchor: target, "arm": "exit_down"},
        "scale": {"measure": "face_height", "length": hand_px, "range": list(rng_scale)},
        "rotation": [-15.0, 15.0], "mirror": True, "zones": [], "layer": 40,
        "tags": {"skin_tone": tone, "view": view, "pose": pose_name, "handedness": "left" if mirror_x else "right",
                 "skeleton_21": info["joints"]},
        "exit_edge": "bottom",
    }
    return meta, rgba
