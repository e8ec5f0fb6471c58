"""Procedural hands from a 21-joint skeleton (mediapipe hand topology), forearm leaving the bottom border.

Geometry is built in *hand units* (wrist to middle fingertip = 1, origin at the wrist, y up), posed with
per-joint flexion (3D, orthographic projection), then drawn at 3x supersampling as **one skin surface**
(:mod:`celebamat.occluders.surface`): forearm, palm, thenar and every phalanx only contribute heights, merged
with smooth joins where they belong together (finger bases into the palm, the palm into the wrist) and shaded
once, with occlusion in the valleys, warm shadows and faint creases, knuckles and nails as relief and tint.
Joint indices: 0 wrist; thumb 1-4 (CMC, MCP, IP, tip); index 5-8; middle 9-12; ring 13-16; pinky 17-20.

Size: one generator of about 580 lines, kept whole: the skeleton, the poses, the held objects and the surface
drawing share its constants and hand units, and the 60 bundled hands must regenerate byte for byte
(tests/celebamat/occluders/test_bundled.py); a split would move code without separating jobs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from celebamat.occluders.draw import (Canvas, bezier, fbm, normals, poly_mask, soft, specular, srgb,
                                      stroke_mask)
from celebamat.occluders.materials import glossy, mesh_ball
from celebamat.occluders.surface import Surface, shade_skin

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
# Part labels on a hand surface: the forearm, the palm, one per phalanx, and what the hand holds.
_ARM, _PALM_ID, _FIRST_SEG, _OBJECT = 1, 2, 3, 90

# name: (MCP x, MCP y, finger length, base radius, tip radius, base angle deg). A real palm is about 0.45 hand
# lengths wide, so the four fingers stand side by side on it, the middle one longest and widest.
_FINGERS = {
    "index": (0.150, 0.465, 0.440, 0.050, 0.040, 6.0),
    "middle": (0.052, 0.482, 0.490, 0.052, 0.041, 0.0),
    "ring": (-0.046, 0.466, 0.460, 0.049, 0.039, -5.0),
    "pinky": (-0.138, 0.425, 0.360, 0.042, 0.034, -12.0),
}
_PHALANX = (0.46, 0.30, 0.24)

# Poses: per finger (spread deg, [mcp, pip, dip] flexion deg); thumb (angle deg, [cmc, mcp, ip] flexion[, turn of
# each segment towards the fingers, deg: a fist's thumb lies across the curled fingers]).
_STRAIGHT = (0.0, (6, 8, 5))
_CURLED = (0.0, (88, 100, 65))
POSES = {
    "flat": {"index": (0, (8, 12, 7)), "middle": (0, (7, 11, 7)), "ring": (0, (9, 13, 8)),
             "pinky": (0, (11, 14, 8)), "thumb": (40, (15, 12, 8)), "spread": 0.2},
    "spread": {"index": (0, (4, 6, 4)), "middle": (0, (4, 6, 4)), "ring": (0, (6, 8, 5)),
               "pinky": (0, (8, 8, 5)), "thumb": (58, (8, 8, 5)), "spread": 1.5},
    "fist": {"index": (0, (85, 100, 62)), "middle": (0, (88, 100, 62)), "ring": (0, (90, 102, 64)),
             "pinky": (0, (92, 104, 66)), "thumb": (25, (40, 35, 25), (-5, -80, -115)), "spread": 0.3},
    "point": {"index": (0, (4, 6, 4)), "middle": (0, (88, 100, 62)), "ring": (0, (90, 102, 64)),
              "pinky": (0, (92, 104, 66)), "thumb": (22, (42, 38, 25)), "spread": 0.4},
    "peace": {"index": (9, (4, 6, 4)), "middle": (-7, (4, 6, 4)), "ring": (0, (90, 102, 64)),
              "pinky": (0, (92, 104, 66)), "thumb": (20, (45, 40, 25)), "spread": 0.8},
    "grip": {"index": (0, (55, 75, 45)), "middle": (0, (58, 78, 45)), "ring": (0, (60, 80, 46)),
             "pinky": (0, (62, 82, 48)), "thumb": (35, (35, 30, 20)), "spread": 0.4},
}

#: subtype -> (pose, preferred views, wrist bend range deg, target anchor, face targets, scale range, arm exits).
#: The arm leaves the face downwards or, for hands raised to a cheek or the eyes, down and to the side or
#: sideways (real hands reach the face from the side as often as from below); a hand near the camera may be
#: as long as the face is high.
SUBTYPES = {
    "cover_mouth": ("flat", ("back", "back", "palm"), (20, 35), "palm", ("mouth_center",), (0.8, 1.1),
                    ("exit_down", "exit_down_side")),
    "on_cheek": ("flat", ("back", "back", "palm"), (-15, 15), "palm", ("cheek_left", "cheek_right"), (0.8, 1.1),
                 ("exit_down", "exit_down_side", "exit_side")),
    "chin_rest": ("fist", ("palm", "back"), (-10, 10), "knuckles", ("chin",), (0.8, 1.0), ("exit_down",)),
    "over_eyes": ("spread", ("back", "back", "palm"), (-10, 10), "fingers", ("eyes_center", "eye_left", "eye_right"),
                  (0.85, 1.15), ("exit_down", "exit_side")),
    "finger_on_lips": ("point", ("back", "palm"), (-8, 8), "index_pad", ("mouth_center", "mouth_center", "nose_tip"),
                       (0.8, 1.0), ("exit_down", "exit_down_side")),
    "peace_sign": ("peace", ("palm", "back"), (-15, 15), "palm", ("cheek_left", "cheek_right"), (0.75, 0.95),
                   ("exit_down", "exit_down_side")),
    "holding": ("grip", ("back", "palm"), (-10, 10), "object", ("mouth_center", "mouth_left", "mouth_right"),
                (0.8, 1.0), ("exit_down",)),
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
    z0: float = 0.0  # depth (towards the viewer) at p0 and p1
    z1: float = 0.0


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
        if view == "back" and flex[0] > 75:
            # A fist held up to a face is seen from behind and a little from above: each curled finger's first
            # phalanx rises from its knuckle, foreshortened, to the middle joint, and the rest folds out of sight
            # behind it (at 90 degrees or more the fingers shrank to a row of round caps, a mitten).
            flex[0] = 72.0 + rng.normal(0, 3)
        a = math.radians(ang * spread + extra + rng.normal(0, 1.5))
        base = 5 + 4 * fi
        curled = sum(flex) > 150
        if view == "palm" and curled:
            # Seen from the palm, a curled finger's tip rests on the palm below its middle phalanx with the nail
            # towards the viewer; bent as far as from behind, the tip would hide under the middle phalanx.
            flex[2] -= 22.0
        # A clenched hand draws its knuckles together about the middle finger's.
        p = np.array([0.05 + (mx - 0.05) * (0.92 if curled else 1.0), my])
        z = 0.0
        joints[base], depth[base] = p, z
        phi = 0.0
        # Tapering towards a slimmer, flatter fingertip (a round tip reads as a sausage). Curled fingers press
        # against each other and flatten at the sides: no gaps between them.
        radii = np.array([rb, 0.5 * (rb + rt), rt, 0.85 * rt]) * (1.12 if curled else 1.0)
        for k in range(3):
            phi += math.radians(max(flex[k], -5))
            seg_len = length * _PHALANX[k]
            d = np.array([math.sin(a) * math.cos(phi), math.cos(a) * math.cos(phi)])
            q = p + seg_len * d
            zq = z + s * seg_len * math.sin(phi)
            segs.append(_Seg(p.copy(), q.copy(), radii[k] * 1.08, radii[k + 1] * 1.08, (z + zq) / 2, name, k, phi,
                             z, zq))
            p, z = q, zq
            joints[base + 1 + k], depth[base + 1 + k] = p, z
    any_curled = any(sum(pose[name][1]) > 150 for name in _FINGERS)
    t_ang, t_flex, *t_turn = pose["thumb"]
    a = math.radians(t_ang + rng.normal(0, 3))
    flex = np.asarray(t_flex, float) + rng.normal(0, 3, 3)
    p, z = np.array([0.085, 0.10]), 0.02
    joints[1], depth[1] = p, z
    phi, bend = 0.0, 0.0
    for k, (seg_len, r0, r1) in enumerate(((0.20, 0.062, 0.052), (0.17, 0.050, 0.046), (0.15, 0.046, 0.033))):
        phi += math.radians(flex[k])
        # The thumb curls across the palm as it flexes (by a pose's own turns where it gives them).
        bend = math.radians(t_turn[0][k]) if t_turn else bend - math.radians(flex[k]) * 0.55
        d = np.array([math.sin(a + bend) * math.cos(phi * 0.6), math.cos(a + bend) * math.cos(phi * 0.6)])
        q = p + seg_len * d
        zq = z + s * seg_len * math.sin(phi * 0.6) + 0.01
        lift = 0.04 if k else 0.0
        # A thumb that holds curled fingers down lies over them with its pad on them: from the palm, its nail shows.
        shown = math.pi if view == "palm" and any_curled else 0.0
        segs.append(_Seg(p.copy(), q.copy(), r0, r1, (z + zq) / 2 + lift, "thumb", k, shown, z + lift, zq + lift))
        p, z = q, zq
        joints[2 + k], depth[2 + k] = p, z
    return joints, segs, depth


#: Palm outline (hand units, right hand seen from its back, before the wrist bend): wrist at the bottom, the
#: knuckle line at the top, the thumb's side at +x.
_PALM = np.array([[-0.125, 0.0], [-0.175, 0.12], [-0.20, 0.28], [-0.185, 0.40], [-0.11, 0.455], [0.0, 0.48],
                  [0.10, 0.478], [0.19, 0.46], [0.215, 0.36], [0.19, 0.20], [0.14, 0.05], [0.115, 0.0]])
_FOREARM_LEN = 0.42
_SS = 3  # supersampling


def _rounded(poly: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Chaikin corner cutting: a smooth closed outline through the corners' neighbourhood."""
    for _ in range(rounds):
        q = np.roll(poly, -1, axis=0)
        poly = np.stack([0.75 * poly + 0.25 * q, 0.25 * poly + 0.75 * q], 1).reshape(-1, 2)
    return poly


@dataclass
class _Frame:
    """Hand units to supersampled grid px: wrist bend ``R``, mirror, then scale ``S`` (y down)."""

    R: np.ndarray
    mirror: bool
    xmin: float
    ymax: float
    S: float

    def tf(self, p: np.ndarray) -> np.ndarray:
        q = np.asarray(p, np.float64) @ self.R.T
        return q * np.array([-1.0 if self.mirror else 1.0, 1.0])

    def px(self, p: np.ndarray) -> np.ndarray:
        """Hand units (already bent) to grid px, ``(n, 2)``."""
        p = np.atleast_2d(p)
        return np.stack([(p[:, 0] - self.xmin) * self.S, (self.ymax - p[:, 1]) * self.S], -1)

    def grid(self, p: np.ndarray) -> np.ndarray:
        """Unbent hand units to grid px, one point ``(2,)``."""
        return self.px(self.tf(p))[0]


def _box(shape: tuple[int, int], lo: np.ndarray, hi: np.ndarray, pad: float) -> tuple[int, int, int, int] | None:
    H, W = shape
    x0, x1 = int(max(0, lo[0] - pad)), int(min(W, hi[0] + pad + 1))
    y0, y1 = int(max(0, lo[1] - pad)), int(min(H, hi[1] + pad + 1))
    return (y0, y1, x0, x1) if x1 > x0 and y1 > y0 else None


def _capsule_part(shape: tuple[int, int], a: np.ndarray, b: np.ndarray, r0: float, r1: float, z0: float,
                  z1: float, flat: float, waist: float = 0.0):
    """A tapered 3-D capsule from ``a`` (depth ``z0``) to ``b`` (depth ``z1``), grid px, seen from the front,
    its cross-section squashed in depth by ``flat``. Each pixel sees the capsule's frontmost point along its
    line of sight (a finger pointing away from the viewer shows its near end, not its far one): for the sphere
    swept along the axis that point lies a distance ``-dz R / sqrt(L^2 + dz^2)`` along the axis from the
    pixel's foot on it (``R`` the sphere's radius left in that cross-section). Returns ``(box, cov, height,
    normal, t)`` on its window (``t`` the axis parameter seen), or None when it is off the grid. ``waist``
    narrows the middle by that fraction (a phalanx is slimmer between its joints)."""
    box = _box(shape, np.minimum(a, b), np.maximum(a, b), max(r0, r1) + 2)
    if box is None:
        return None
    y0, y1, x0, x1 = box
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    d = b - a
    L = math.sqrt(float(d @ d)) + 1e-9
    u = d / L
    dz = z1 - z0
    ex, ey = xx - a[0], yy - a[1]
    along = ex * u[0] + ey * u[1]
    across2 = np.maximum(ex * ex + ey * ey - along * along, 0.0)
    tp = np.clip(along / L, 0, 1)
    radius = lambda t: (r0 + (r1 - r0) * t) * (1.0 - waist * 4.0 * t * (1.0 - t))  # noqa: E731
    r = radius(tp)
    # The outline is the swept sphere's silhouette: the pixel's distance from its foot on the axis.
    fx, fy = ex - tp * d[0], ey - tp * d[1]
    cov = np.clip(r - np.sqrt(fx * fx + fy * fy) + 0.5, 0, 1)
    rest = np.sqrt(np.maximum(r * r - across2, 0.0))
    t = np.clip((along + dz * rest / math.sqrt(L * L + dz * dz)) / L, 0.0, 1.0)
    r = radius(t)
    qx, qy = ex - t * d[0], ey - t * d[1]
    dist2 = qx * qx + qy * qy
    # Near the capped ends the shifted point can miss the pixel; fall back to the foot there.
    miss = dist2 > r * r
    t = np.where(miss, tp, t)
    r = np.where(miss, radius(tp), r)
    qx, qy = np.where(miss, fx, qx), np.where(miss, fy, qy)
    dist2 = qx * qx + qy * qy
    depth = np.sqrt(np.maximum(r * r - dist2, (0.08 * r) ** 2))
    height = z0 + t * dz + flat * depth
    n = np.stack([flat * qx / depth, flat * qy / depth, np.ones_like(t)], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    return box, cov, height, n, t


def _bump(height: np.ndarray, centre: np.ndarray, radius: float, amount: float) -> None:
    """Add a Gaussian bump (or dent, ``amount`` < 0) of ``radius`` grid px at ``centre`` to ``height``."""
    box = _box(height.shape, centre, centre, 3 * radius)
    if box is None:
        return
    y0, y1, x0, x1 = box
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    r2 = ((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (radius * radius)
    height[y0:y1, x0:x1] += amount * np.clip(1.0 - r2 / 9.0, 0.0, 1.0) ** 4  # smooth, compact support


def _palm_part(shape: tuple[int, int], fr: _Frame, view: str, joints: np.ndarray):
    """The palm (or the back of the hand) as a rounded slab with the thenar and hypothenar pads or the knuckles
    of the back. Returns ``(box, cov, height, normal)`` on the whole grid."""
    S = fr.S
    cov = poly_mask(shape, fr.px(np.array([fr.tf(p) for p in _rounded(_PALM)])))
    cov = np.clip((soft(cov, 0.006 * S) - 0.5) * 3 + 0.5, 0, 1)
    inside = (cov > 0.5).astype(np.uint8)
    d = cv2.distanceTransform(inside, cv2.DIST_L2, 5).astype(np.float64)
    edge, thick = 0.10 * S, 0.055 * S
    e = np.minimum(d / edge, 1.0)
    height = thick * np.sqrt(np.clip(1.0 - (1.0 - e) ** 2, 0.0, 1.0))
    bumps = np.zeros(shape, np.float64)
    if view == "palm":
        _bump(bumps, fr.grid(np.array([0.10, 0.15])), 0.07 * S, 0.035 * S)  # thenar: the thumb's ball
        _bump(bumps, fr.grid(np.array([-0.12, 0.18])), 0.06 * S, 0.015 * S)  # hypothenar
        _bump(bumps, fr.grid(np.array([0.0, 0.29])), 0.07 * S, -0.012 * S)  # the hollow of the palm
        for j in (5, 9, 13, 17):  # pads under the finger bases
            _bump(bumps, fr.grid(joints[j] + np.array([0.0, -0.04])), 0.035 * S, 0.008 * S)
    else:
        _bump(bumps, fr.grid(np.array([0.11, 0.14])), 0.06 * S, 0.015 * S)  # the thumb's muscle, seen from behind
        for j in (5, 9, 13, 17):  # knuckles
            _bump(bumps, fr.grid(joints[j] + np.array([0.0, -0.015])), 0.028 * S, 0.014 * S)
        # Extensor tendons fanning from the wrist to the knuckles: faint ridges a light from above picks out.
        ridges = np.zeros(shape, np.uint8)
        for k, j in enumerate((5, 9, 13, 17)):
            start = np.array([0.035 * (1.5 - k), 0.09])
            end = joints[j] + np.array([0.0, -0.05])
            line = fr.px(np.array([fr.tf(p) for p in bezier(np.array([start, 0.5 * (start + end) + [0.0, 0.02],
                                                                          end]), 16)]))
            cv2.polylines(ridges, [np.round(line * 16).astype(np.int32)], False, 255,
                          thickness=max(1, int(round(0.016 * S))), lineType=cv2.LINE_AA, shift=4)
        bumps += soft(ridges.astype(np.float64) / 255, 0.01 * S) * 0.009 * S
    height += bumps * e
    n = normals(height, 0.004 * S)
    return (0, shape[0], 0, shape[1]), cov, height, n


def _hand_surface(shape: tuple[int, int], fr: _Frame, view: str, joints: np.ndarray,
                  segs: list[tuple[int, _Seg, np.ndarray, np.ndarray]]) -> Surface:
    """Forearm, palm and phalanges (``(label, seg, a, b)``, drawn in the given order) merged into one surface."""
    S = fr.S
    surf = Surface(shape)
    wrist = fr.grid(np.array([0.0, 0.03]))
    far = wrist + np.array([0.0, 1.0]) * (_FOREARM_LEN + fr.ymax + 1.0) * S
    part = _capsule_part(shape, wrist, far, 0.135 * S, 0.19 * S, -0.03 * S, -0.03 * S, 0.55)
    if part is not None:
        box, cov, h, n, t = part
        surf.add(_ARM, box, cov, h, n, t)
    box, cov, h, n = _palm_part(shape, fr, view, joints)
    surf.add(_PALM_ID, box, cov, h, n, blend=0.06 * S, blend_with=(_ARM,))
    for lab, sg, a, b in segs:
        part = _capsule_part(shape, a, b, sg.r0 * S, sg.r1 * S, sg.z0 * S, sg.z1 * S, 0.8,
                             0.0 if sg.finger == "thumb" else 0.07)
        if part is None:
            continue
        box, cov, h, n, t = part
        # Joins: a finger's base (and the whole thumb) into the palm; phalanges of one finger at their joints;
        # fingers pressed side by side into each other, so a closed hand shows fine lines between its fingers
        # rather than deep grooves.
        same = tuple(l for l, o, _, _ in segs if o.finger == sg.finger and l != lab)
        side = () if sg.finger == "thumb" else tuple(
            l for l, o, _, _ in segs if o.finger not in ("thumb", sg.finger) and o.index == sg.index)
        base = (_PALM_ID,) if sg.index == 0 or sg.finger == "thumb" else ()
        surf.add(lab, box, cov, h, n, t, blend=(0.035 if base else 0.025) * S, blend_with=base + same + side)
    return surf


def _albedo(surf: Surface, fr: _Frame, view: str, base: np.ndarray, palm_col: np.ndarray, joints: np.ndarray,
            segs: dict[int, _Seg], rng: np.random.Generator) -> np.ndarray:
    """Skin colour ``(H, W, 3)``: the palm side paler and pinker, fingertips and knuckles redder, mottled."""
    shape, S = surf.shape, fr.S
    alb = np.empty((*shape, 3), np.float64)
    alb[:] = base
    palm_side = np.zeros(shape, bool)
    for lab, sg in segs.items():
        facing_palm = (view == "palm") != (sg.phi > math.radians(95))
        if facing_palm:
            palm_side |= surf.label == lab
    alb[palm_side] = palm_col
    if view == "palm":  # the palm and, paler only by half, the inside of the forearm
        alb[surf.label == _PALM_ID] = palm_col
        alb[surf.label == _ARM] = 0.5 * (base + palm_col)
    alb = cv2.GaussianBlur(alb, (0, 0), 0.01 * S)  # no hard line where palm and back colours meet
    red = np.zeros(shape, np.float64)
    for lab, sg in segs.items():
        if sg.index == 2:
            red += np.where(surf.label == lab, np.clip(surf.along - 0.35, 0, 1), 0.0) * 0.32
    if view == "back":
        knuckles = np.zeros(shape, np.float64)
        for j in (5, 6, 9, 10, 13, 14, 17, 18, 3):
            _bump(knuckles, fr.grid(joints[j]), 0.03 * S, 1.0)
        red += 0.2 * np.clip(knuckles, 0, 1)
    red = soft(red, 0.006 * S)[..., None]
    alb = alb * (1 - red) + np.array([0.78, 0.38, 0.36]) * base.max() * red
    mottle = fbm(rng, shape, 20 * _SS, 4)
    pores = fbm(rng, shape, 2.5 * _SS, 2)
    alb *= (1 + 0.12 * (mottle - 0.5) + 0.06 * (pores - 0.5))[..., None]
    return np.clip(alb, 0, 1)


def _relief(rgb: np.ndarray, surf: Surface, fr: _Frame, view: str, segs: dict[int, _Seg],
            pts: dict[int, tuple[np.ndarray, np.ndarray]], base: np.ndarray, rng: np.random.Generator) -> None:
    """Creases, knuckle wrinkles, palm lines and nails, in place on the straight colour ``rgb``, each only where
    its own part is on top. Creases are faint and soft: real ones read as relief, not as drawn lines."""
    S = fr.S
    for lab, sg in segs.items():
        a, b = pts[lab]
        d = b - a
        L = float(np.linalg.norm(d)) + 1e-6
        u = d / L
        v = np.array([-u[1], u[0]])
        r0, r1 = sg.r0 * S, sg.r1 * S
        if L < 0.35 * (r0 + r1):  # strongly foreshortened: no readable detail
            continue
        box = _box(surf.shape, np.minimum(a, b), np.maximum(a, b), max(r0, r1) + 0.05 * S)
        if box is None:
            continue
        y0, y1, x0, x1 = box
        lo = np.array([x0, y0], np.float64)
        own = ((surf.label[y0:y1, x0:x1] == lab) * surf.cov[y0:y1, x0:x1]).astype(np.float64)
        if not own.any():
            continue
        sub = rgb[y0:y1, x0:x1]
        facing_palm = (view == "palm") != (sg.phi > math.radians(95))
        if facing_palm:
            _flexion_creases(sub, own, a - lo, u, v, L, r0, sg.index == 0 and sg.finger != "thumb", S, rng)
        elif sg.index in (1, 2) and sg.finger != "thumb" or (sg.finger == "thumb" and sg.index == 2):
            _knuckle_wrinkles(sub, own, a - lo, u, v, L, r0, sg.index == 1, S, rng)
        if not facing_palm and sg.index == 2:
            _nail(sub, own, a - lo, u, v, L, r1, base, S)
    if view == "palm":  # heart, head and life lines
        own = ((surf.label == _PALM_ID) * surf.cov).astype(np.float64)
        for ln in ([(-0.17, 0.36), (-0.05, 0.39), (0.06, 0.40), (0.13, 0.44)],
                   [(0.17, 0.33), (0.05, 0.30), (-0.05, 0.27), (-0.15, 0.23)],
                   [(0.16, 0.32), (0.07, 0.26), (0.05, 0.14), (0.07, 0.03)]):
            ctrl = np.array([fr.tf(np.array(p) + rng.normal(0, 0.008, 2)) for p in ln])
            m = soft(stroke_mask(surf.shape, fr.px(bezier(ctrl, 24)), 0.004 * S), 0.006 * S) * own
            rgb *= (1 - 0.15 * np.clip(m * 1.4, 0, 1))[..., None]


def _flexion_creases(rgb: np.ndarray, own: np.ndarray, a: np.ndarray, u: np.ndarray, v: np.ndarray, L: float,
                     r0: float, base: bool, S: float, rng: np.random.Generator) -> None:
    """Flexion creases on a phalanx seen from the palm (window coordinates; the phalanx starts at ``a`` and runs
    along ``u`` for ``L`` px, ``r0`` px wide at its base), in place: paired soft folds across the pad at its
    joint, and with ``base`` (a finger's first phalanx) the palm's own crease pair at the finger's base."""
    for off in ((0.04, 0.10) if base else (0.04,)):
        c0 = a + u * off * L
        for k, depth in ((0, 0.13), (1, 0.08)):
            c1 = c0 + u * (0.04 * k * L) + v * rng.normal(0, 0.05) * r0
            w_ = r0 * rng.uniform(0.55, 0.75)
            _crease(rgb, own, np.array([c1 - v * w_, c1 + u * 0.04 * L, c1 + v * w_]), depth, S)


def _knuckle_wrinkles(rgb: np.ndarray, own: np.ndarray, a: np.ndarray, u: np.ndarray, v: np.ndarray, L: float,
                      r0: float, big: bool, S: float, rng: np.random.Generator) -> None:
    """Knuckle wrinkles over the joint at ``a`` seen from behind (arguments as :func:`_flexion_creases`), in
    place: a patch of slightly darker, redder skin holding a cluster of fine, uneven arcs with lit ridges between
    them, 5 to 8 over the middle joint (``big``), 3 or 4 over the last."""
    centre = a - u * 0.02 * L
    patch = np.zeros(own.shape, np.uint8)
    ang = math.degrees(math.atan2(u[1], u[0]))
    cv2.ellipse(patch, (int(centre[0]), int(centre[1])), (max(1, int(0.14 * L)), max(1, int(0.55 * r0))), ang, 0,
                360, 255, -1, cv2.LINE_AA)
    rgb *= 1 - 0.07 * (soft(patch.astype(np.float64) / 255, 0.012 * S) * own)[..., None] * np.array([0.6, 1.0, 1.0])
    n = int(rng.integers(5, 9)) if big else int(rng.integers(3, 5))
    for k in range(n):
        c0 = centre + u * ((k - (n - 1) / 2) * (0.05 if big else 0.04) + rng.normal(0, 0.01)) * L
        c0 = c0 + v * rng.normal(0, 0.1) * r0
        w_ = r0 * rng.uniform(0.3, 0.6) * (1.0 - 0.35 * abs(k - (n - 1) / 2) / max(n / 2, 1))
        ctrl = np.array([c0 - v * w_, c0 - u * rng.uniform(0.02, 0.06) * L, c0 + v * w_])
        _crease(rgb, own, ctrl, rng.uniform(0.07, 0.14) * (1.0 if big else 0.8), S)


def _crease(rgb: np.ndarray, own: np.ndarray, ctrl: np.ndarray, depth: float, S: float) -> None:
    """A skin crease along the Bezier ``ctrl`` (window px), in place: a fine dark fold with a faint lit lip on
    its distal side, so it reads as relief rather than as a drawn line; ``depth`` is the darkening in the fold."""
    line = bezier(ctrl, 12)
    m = soft(stroke_mask(own.shape, line, 0.002 * S), 0.002 * S) * own
    chord = ctrl[-1] - ctrl[0]
    across = np.array([chord[1], -chord[0]]) / (np.linalg.norm(chord) + 1e-9)
    lip = soft(stroke_mask(own.shape, line + 0.004 * S * across, 0.003 * S), 0.003 * S) * own
    rgb *= (1 - depth * np.clip(m * 1.6, 0, 1))[..., None]
    rgb += (0.25 * depth * np.clip(lip - m, 0, 1))[..., None]


def _nail(rgb: np.ndarray, own: np.ndarray, a: np.ndarray, u: np.ndarray, v: np.ndarray, L: float, r1: float,
          base: np.ndarray, S: float) -> None:
    """A nail on a distal phalanx (window coordinates): a paler, pinker plate than the skin, a pale free edge at
    the tip, a darker fold around it and a glossy highlight (a nail reflects; the skin beside it does not)."""
    c0 = a + u * 0.64 * L
    ang = math.degrees(math.atan2(u[1], u[0]))
    m = np.zeros(own.shape, np.uint8)
    cv2.ellipse(m, (int(c0[0]), int(c0[1])), (int(round(0.32 * L)), int(round(r1 * 0.62))), ang, 0, 360, 255, -1,
                cv2.LINE_AA)
    nail = soft(m.astype(np.float64) / 255, 0.002 * S) * own
    fold = np.clip(soft(nail, 0.006 * S) - nail, 0, 1) * own
    tone = np.clip(base * 0.6 + np.array([0.96, 0.80, 0.80]) * 0.4, 0, 1)
    shade = 0.6 + 0.4 * rgb.mean(-1, keepdims=True) / max(float(base.mean()), 1e-3)
    rgb[:] = rgb * (1 - nail[..., None]) + tone * shade * nail[..., None]
    rgb *= (1 - 0.22 * np.clip(fold * 2, 0, 1))[..., None]
    # The free edge: the last fifth of the plate towards the tip, nearly white.
    yy, xx = np.mgrid[0:own.shape[0], 0:own.shape[1]].astype(np.float64)
    t = ((xx - a[0]) * u[0] + (yy - a[1]) * u[1]) / L
    edge = np.clip((t - 0.86) / 0.05, 0, 1) * nail
    rgb[:] = rgb * (1 - 0.6 * edge[..., None]) + np.array([0.95, 0.92, 0.88]) * shade * 0.6 * edge[..., None]
    hl = np.zeros(own.shape, np.uint8)
    c1 = c0 - v * r1 * 0.2
    cv2.ellipse(hl, (int(c1[0]), int(c1[1])), (max(1, int(0.16 * L)), max(1, int(r1 * 0.12))), ang, 0, 360, 255,
                -1, cv2.LINE_AA)
    rgb += (soft(hl.astype(np.float64) / 255, 0.004 * S) * nail * 0.22)[..., None]


def _held(rng: np.random.Generator) -> dict:
    """What a gripping hand holds, in hand units (centre ``cx, cy``, width ``w``, height ``h``): a cup or can
    (about 6 cm across), or a handheld microphone (a 3.5 cm handle through the fist, a 5 cm grille above it)."""
    if rng.random() < 0.5:
        # A paper cup or a mug, about 8 cm across and 9 cm high, held round its middle: most are white, cream,
        # kraft brown or black, some a muted colour; many carry a band (a sleeve, a printed stripe).
        w, h = rng.uniform(0.36, 0.44), rng.uniform(0.40, 0.50)
        colours = [[0.93, 0.92, 0.89], [0.93, 0.92, 0.89], [0.88, 0.84, 0.74], [0.60, 0.46, 0.32],
                   [0.13, 0.13, 0.14], [0.62, 0.24, 0.21], [0.30, 0.44, 0.34], [0.26, 0.34, 0.48],
                   [0.62, 0.62, 0.60]]
        pick = rng.choice(len(colours), 2, replace=False)
        # Seen from a little above: the rim is an ellipse this deep (share of the width) showing the inside.
        tilt = rng.uniform(0.08, 0.2)
        # A printed band (a paper cup's sleeve, a mug's stripe) on some: from, to (share of the height).
        band = (rng.uniform(0.2, 0.4), rng.uniform(0.55, 0.75)) if rng.random() < 0.5 else None
        # The rim over the index finger by about 3 cm; paper cups narrow towards the base, mugs barely.
        cy = rng.uniform(0.86, 0.9) - h / 2
        return {"kind": "cup", "w": w, "h": h, "cx": 0.0, "cy": cy, "mouth": cy + 0.35 * h,
                "color": np.array(colours[pick[0]]) * rng.uniform(0.9, 1.0), "tilt": tilt, "band": band,
                "band_color": np.array(colours[pick[1]]) * rng.uniform(0.85, 1.0), "taper": rng.uniform(0.76, 0.95)}
    r = rng.uniform(0.13, 0.15)
    top = rng.uniform(0.92, 1.0)  # the handle's top, where the grille sits
    h = top + 2 * r - 0.12
    return {"kind": "mic", "w": 2 * r, "h": h, "cx": 0.0, "cy": 0.12 + h / 2, "mouth": top + 0.85 * r, "top": top,
            "r": r, "color": np.array(rng.choice([[0.05, 0.05, 0.06], [0.12, 0.12, 0.13], [0.55, 0.56, 0.6]]))}


def _held_parts(surf: Surface, fr: _Frame, obj: dict, view: str) -> dict[int, np.ndarray]:
    """Add what the hand holds (:func:`_held`) to the hand's surface, its axis just off the palm on the side the
    fingers curl to (in front of the palm seen from the palm, behind it seen from the back), so the fingers wrap
    round it by depth alone. Returns each added label's colour ``(H, W, 3)`` under the asset's light: a glazed
    cup (:func:`_cup`), or a microphone (glossy handle, metal ring, wire-mesh grille)."""
    S, shape = fr.S, surf.shape
    side = 1.0 if view == "palm" else -1.0
    colours: dict[int, np.ndarray] = {}

    def cylinder(label: int, y0: float, y1: float, r0: float, r1: float, z_off: float) -> None:
        _held_cylinder(surf, fr, side, label, y0, y1, r0, r1, z_off)

    if obj["kind"] == "cup":
        return _cup(surf, fr, obj, side)
    top, r = obj["top"], obj["r"]
    dark = obj["color"][0] < 0.3
    cylinder(_OBJECT, 0.12, top, 0.065, 0.09, 0.0)
    colours[_OBJECT] = glossy(obj["color"], surf.normal, _LIGHT, 0.06 if dark else 0.3, 0.4, 80, 0.5)
    cylinder(_OBJECT + 1, top - 0.04, top + 0.03, 0.1, 0.1, -0.01)
    colours[_OBJECT + 1] = glossy(np.array([0.5, 0.5, 0.52]), surf.normal, _LIGHT, 0.6, 0.4, 80, 0.5)
    centre = fr.grid(np.array([0.0, obj["mouth"]]))
    cov, col = mesh_ball(shape, centre, r * S, 0.035 * S, _LIGHT)
    z = side * (0.055 + 0.09) * S
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    d2 = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2
    depth = np.sqrt(np.maximum((r * S) ** 2 - d2, 0.0))
    n = np.stack([xx - centre[0], yy - centre[1], np.maximum(depth, 1e-6)], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    surf.add(_OBJECT + 2, (0, shape[0], 0, shape[1]), cov, z + depth, n)
    colours[_OBJECT + 2] = col
    return colours


def _held_cylinder(surf: Surface, fr: _Frame, side: float, label: int, y0: float, y1: float, r0: float, r1: float,
                   z_off: float, keep: np.ndarray | None = None) -> None:
    """Add an upright cylinder on the hand's axis from ``y0`` to ``y1`` (hand units; radii ``r0``, ``r1``) to
    ``surf`` as part ``label``, just off the palm on the ``side`` the fingers curl to (+1 towards the viewer);
    ``keep`` ``(H, W)`` (the grid's coverage to keep) cuts its round caps to a chosen outline."""
    S = fr.S
    z = side * (0.055 + max(r0, r1) + z_off) * S
    part = _capsule_part(surf.shape, fr.grid(np.array([0.0, y0])), fr.grid(np.array([0.0, y1])), r0 * S, r1 * S,
                         z, z, 1.0)
    if part is None:
        return
    box, cov, h, n, _ = part
    if keep is not None:
        by0, by1, bx0, bx1 = box
        cov = cov * keep[by0:by1, bx0:bx1]
    surf.add(label, box, cov, h, n)


def _cup(surf: Surface, fr: _Frame, obj: dict, side: float) -> dict[int, np.ndarray]:
    """A cup seen from a little above (:func:`_held`): a glazed body slightly wider at the top, its bottom edge
    and rim curved as ellipses, the rim's ellipse open on the shaded inside, and on some a printed band. Added
    to ``surf`` on the fingers' ``side`` (:func:`_held_cylinder`). Returns the cup's colour by label."""
    S, shape = fr.S, surf.shape
    ocy, ow, oh, tilt = obj["cy"], obj["w"], obj["h"], obj["tilt"]
    top, bottom = ocy + oh / 2, ocy - oh / 2
    # Scalar libm cosines rather than NumPy's SIMD loops, whose last bits may depend on the CPU: the outline's
    # points are rounded to the grid, and the library must be the same on every CPU.
    cos_sin = np.array([(math.cos(a), math.sin(a)) for a in np.linspace(0.0, math.pi, 24).tolist()])
    # Outline: up the left side, over the back of the rim, down the right side, round the front of the base.
    rim = np.stack([-cos_sin[:, 0] * ow / 2, top + cos_sin[:, 1] * tilt * ow / 2], -1)
    taper = obj["taper"]
    base = np.stack([cos_sin[:, 0] * ow / 2 * taper, bottom - cos_sin[:, 1] * tilt * ow / 2 * taper], -1)
    outline = np.concatenate([rim, base])
    keep = poly_mask(shape, fr.px(np.array([fr.tf(p) for p in outline])))
    # Seen from the palm, the cup sits in the hollow of the hand, so the curled fingers come round in front of it.
    sink = -0.5 * ow / 2 if side > 0 else 0.0
    _held_cylinder(surf, fr, side, _OBJECT, bottom - tilt * ow / 2, top + tilt * ow / 2, ow / 2 * taper, ow / 2,
                   sink, keep)
    n = _upright(surf.normal)
    body = np.broadcast_to(obj["color"], (*shape, 3)).copy()
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float64)
    # Height along the cup (0 at the base's front, 1 at the rim's front) on the unbent axis.
    inv = np.linalg.inv(fr.R)
    hx = (xx / S + fr.xmin) * (-1.0 if fr.mirror else 1.0)
    hy = fr.ymax - yy / S
    ux = inv[0, 0] * hx + inv[0, 1] * hy
    uy = inv[1, 0] * hx + inv[1, 1] * hy
    front = np.sqrt(np.clip(1.0 - (2 * ux / ow) ** 2, 0.0, 1.0)) * tilt * ow / 2
    along = (uy - (bottom - front)) / max(oh, 1e-6)
    if obj["band"] is not None:
        lo, hi = obj["band"]
        inside = np.clip((along - lo) * oh * S / 1.5, 0, 1) * np.clip((hi - along) * oh * S / 1.5, 0, 1)
        body = body * (1 - inside[..., None]) + obj["band_color"] * inside[..., None]
    colour = glossy(body, n, _LIGHT, 0.08, 0.5, 60, 0.2)
    # The rim's ellipse: the inner wall in shade, darker towards the far side, inside a thin lit lip.
    ex = ux / (ow / 2)
    ey = (uy - top) / max(tilt * ow / 2, 1e-6)
    r = np.sqrt(ex * ex + ey * ey)
    opening = np.clip((0.93 - r) * ow / 2 * S / 1.5, 0, 1)
    lip = np.clip((1.0 - r) * ow / 2 * S / 1.5, 0, 1) - opening
    wall = obj["color"] * (0.25 + 0.25 * np.clip(0.5 - 0.5 * ey, 0, 1))[..., None]
    colour = colour * (1 - opening[..., None]) + wall * opening[..., None]
    colour = colour * (1 - lip[..., None]) + np.clip(obj["color"] * 0.6 + 0.4, 0, 1) * lip[..., None]
    return {_OBJECT: np.clip(colour, 0, 1)}


def _upright(n: np.ndarray) -> np.ndarray:
    """Normals of an upright cylinder from a capsule's: they vary across its width, hardly along its axis."""
    n = n.copy()
    n[..., 1] *= 0.2
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def _shade(surf: Surface, albedo: np.ndarray, S: float, rng: np.random.Generator) -> np.ndarray:
    """Straight colour of a hand surface under the asset's soft light (the photo's light comes at compositing)."""
    occ = surf.occlusion(0.04 * S, 0.04 * S)
    contact = surf.contact(0.008 * S, 0.02 * S)
    sheen = specular(surf.normal, _LIGHT, 10) * (0.02 + 0.04 * fbm(rng, surf.shape, 30 * _SS, 3))
    return shade_skin(surf, albedo, _LIGHT, occlusion=occ, contact=contact, sheen=sheen)


def make_hand(rng: np.random.Generator, subtype: str, tone: str, view: str, mirror_x: bool,
              hand_px: float) -> tuple[np.ndarray, dict[str, list[float]], dict]:
    """Render one hand asset. Returns (rgba ``(h,w,4)`` uint8, anchors in px, extra info)."""
    pose_name, _, bend_rng = SUBTYPES[subtype][:3]
    joints, segs, _ = _skeleton(POSES[pose_name], view, rng)
    bend = math.radians(rng.uniform(*bend_rng))
    c, s_ = math.cos(bend), math.sin(bend)
    R = np.array([[c, s_], [-s_, c]])  # positive bend tilts the fingers to -x (image left)
    obj = _held(rng) if pose_name == "grip" else None
    # Bounding box in hand units after the transform, to size the canvas.
    fr = _Frame(R, mirror_x, 0.0, 0.0, hand_px * _SS)
    pts = [fr.tf(p) for p in _PALM] + [fr.tf(j) for j in joints]
    if obj:
        pts += [fr.tf(np.array([obj["cx"] + sx * obj["w"] / 2, obj["cy"] + sy * obj["h"] / 2]))
                for sx in (-1, 1) for sy in (-1, 1)]
    pts = np.array(pts)
    margin = 0.08
    xmin, xmax = min(pts[:, 0].min() - margin, -0.25), max(pts[:, 0].max() + margin, 0.25)
    ymax = pts[:, 1].max() + margin
    fr.xmin, fr.ymax = xmin, ymax
    cv = Canvas(int(math.ceil((xmax - xmin) * hand_px)), int(math.ceil((ymax + _FOREARM_LEN) * hand_px)), _SS)
    shape, S = (cv.H, cv.W), fr.S

    tone_rgb, palm_rgb = SKIN_TONES[tone]
    base = srgb(tone_rgb) * rng.uniform(0.95, 1.04, 3).astype(np.float64)
    palm_col = base * 0.55 + srgb(palm_rgb) * 0.45
    labelled = [(_FIRST_SEG + i, sg, fr.grid(sg.p0), fr.grid(sg.p1)) for i, sg in enumerate(segs)]
    labelled.sort(key=lambda x: x[1].z)
    surf = _hand_surface(shape, fr, view, joints, labelled)
    colours = _held_parts(surf, fr, obj, view) if obj is not None else {}
    segs_by = {lab: sg for lab, sg, _, _ in labelled}
    rgb = _shade(surf, _albedo(surf, fr, view, base, palm_col, joints, segs_by, rng), S, rng)
    _relief(rgb, surf, fr, view, segs_by, {lab: (a, b) for lab, _, a, b in labelled}, base, rng)
    for lab, col in colours.items():
        rgb = np.where((surf.label == lab)[..., None], col, rgb)
    cv.over(np.clip(rgb, 0, 1), surf.cov)
    # The forearm leaves through the bottom border only; other borders are transparent by construction.
    rgba = cv.to_rgba8()
    h, w = rgba.shape[:2]

    def apx(p) -> list[float]:
        q = fr.px(np.asarray(p))[0] / _SS
        return [float(np.clip(q[0], 0, w)), float(np.clip(q[1], 0, h))]

    tf = fr.tf
    anchors = {
        "palm": apx(tf(np.array([0.0, 0.26]))),
        "wrist": apx(tf(np.array([0.0, 0.0]))),
        "arm": [float(fr.grid(np.array([0.0, 0.0]))[0] / _SS), float(h)],
        "fingers": apx(tf(joints[[6, 10, 14, 18]].mean(0))),
        "knuckles": apx(tf(joints[[6, 7, 10, 11, 14, 15]].mean(0) + np.array([0, 0.03]))),
        "index_tip": apx(tf(joints[8])),
        "index_pad": apx(tf(joints[7] * 0.5 + joints[8] * 0.5)),
    }
    if obj is not None:  # what goes to the mouth: a cup's rim, a microphone's grille
        anchors["object"] = apx(tf(np.array([obj["cx"], obj["mouth"]])))
    info = {"hand_length_px": float(hand_px), "joints": [apx(tf(j)) for j in joints],
            "held": None if obj is None else obj["kind"]}
    return rgba, anchors, info


def generate(rng: np.random.Generator, index: int, subtype: str) -> tuple[dict, np.ndarray]:
    """One hand asset: metadata (without file/size/split/source) and pixels."""
    pose_name, views, _, target_anchor, face_targets, rng_scale, arm_exits = SUBTYPES[subtype]
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
        # Exits cycle with the index apart from mirror (index % 2) and tone (index % 6), so both hands and all
        # tones reach the face from every way.
        "targets": {target_anchor: target, "arm": arm_exits[(index // 2) % len(arm_exits)]},
        "scale": {"measure": "face_height", "length": hand_px, "range": list(rng_scale)},
        "rotation": [-15.0, 15.0], "mirror": True, "zones": [], "layer": 40,
        "tags": {"skin_tone": tone, "view": view, "pose": pose_name, "handedness": "left" if mirror_x else "right",
                 "skeleton_21": info["joints"], **({"held": info["held"]} if info["held"] else {})},
        "exit_edge": "bottom",
    }
    return meta, rgba
