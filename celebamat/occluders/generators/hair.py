"""Procedural hair: fringes, locks, single strands and curtains of tapered sub-pixel Bezier strands (4x
supersampled).

A fringe grows from a hairline arc (highest over the forehead's middle, lower at the temples) in clumps whose
strands converge towards the clump's tip and end at slightly different lengths; every strand thins and turns
translucent towards its tip. Above the hairline the fringe fades in, so it merges into the person's own hair
rather than leaving through the image border. A curtain is long hair falling past one side of the face, from
above the temple to below the jaw: a dense sheet of clumps whose inner edge lies over the temple and the outer
cheek (how far varies), with wisps straying onto the face and a highlight band across it. Colours are natural
hair colours; at compositing time the renderer moves them towards the person's own hair colour
(``celebamat.synth.hair_colour``)."""

from __future__ import annotations

import cv2
import numpy as np

from celebamat.occluders.draw import Canvas, bezier, srgb

HAIR_COLOURS = {
    "black": (18, 14, 13), "dark_brown": (58, 36, 22), "light_brown": (120, 84, 52),
    "blond": (214, 178, 118), "red": (150, 62, 30), "grey": (172, 170, 166),
}
SS = 4


def _strand(cv: Canvas, ctrl: np.ndarray, width: float, color: np.ndarray, opacity: float,
            tip_fade: float = 0.55) -> None:
    """Draw one tapered strand (``width`` in output px at the root) in six pieces that thin towards the tip and
    turn translucent there (the last piece keeps ``1 - tip_fade`` of the opacity)."""
    pts = bezier(ctrl * cv.ss, 48)
    n = len(pts)
    lo = np.floor(pts.min(0)).astype(int) - 8
    hi = np.ceil(pts.max(0)).astype(int) + 8
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [cv.W, cv.H])
    if np.any(hi <= lo):
        return
    m = np.zeros((hi[1] - lo[1], hi[0] - lo[0]), np.uint8)
    pieces = 6
    for k in range(pieces):
        seg = pts[k * (n - 1) // pieces: (k + 1) * (n - 1) // pieces + 1] - lo
        f = k / (pieces - 1)
        th = max(1, int(round(width * cv.ss * (1 - 0.6 * f))))
        val = int(255 * (1 - tip_fade * f**1.5))
        cv2.polylines(m, [np.round(seg * 16).astype(np.int32)], False, val, th, cv2.LINE_AA, shift=4)
    # Only the pixels the strand touches: a long strand's bounding box is mostly empty.
    ys, xs = np.nonzero(m)
    cv.over_pixels(color, m[ys, xs].astype(np.float64) / 255 * opacity, ys + lo[1], xs + lo[0])


def _colour(rng: np.random.Generator, base: np.ndarray, sheen: float) -> np.ndarray:
    c = base * rng.uniform(0.75, 1.2) + sheen * 0.25 * (1 - base)
    return np.clip(c + rng.normal(0, 0.02, 3), 0, 1).astype(np.float64)


def _fade_in(cv: Canvas, y_from: float, span: float) -> None:
    """Scale colour and alpha from 0 at ``y_from`` to 1 at ``y_from + span`` (output px, smoothstep): hair that
    merges into the person's own hair above it instead of ending at the canvas border."""
    ys = (np.arange(cv.H, dtype=np.float64) + 0.5) / cv.ss
    r = np.clip((ys - y_from) / span, 0.0, 1.0)
    ramp = r * r * (3.0 - 2.0 * r)
    cv.rgb *= ramp[:, None, None]
    cv.a *= ramp[:, None]


def _curtain(rng: np.random.Generator, base: np.ndarray, curl: float) -> tuple[Canvas, dict, dict, dict]:
    """Long hair past the image-left side of a face (mirroring gives the other side).

    The temple and jaw anchors sit on the face's outline; the sheet's inner edge runs ``cover`` px inside it
    (into the face) at the temple, the cheek and the jaw, so a curtain hides from a sliver to about half of
    that side of the face."""
    H = int(rng.integers(440, 520))
    W = int(0.62 * H)
    cv = Canvas(W, H, SS)
    temple = np.array([0.6 * W, 0.26 * H])
    jaw = np.array([0.62 * W, 0.6 * H])
    cover = np.array([rng.uniform(0.02, 0.14), rng.uniform(0.0, 0.12), rng.uniform(-0.03, 0.07),
                      rng.uniform(-0.04, 0.08)]) * H
    # The inner edge at five heights: the crown (hidden by the fade-in), temple, cheek, jaw, the tips.
    ys = np.array([-2.0, temple[1], 0.5 * (temple[1] + jaw[1]), jaw[1], 0.97 * H])
    xs = np.array([temple[0] + cover[0] + 0.08 * H, temple[0] + cover[0], 0.5 * (temple[0] + jaw[0]) + cover[1],
                   jaw[0] + cover[2], jaw[0] + cover[3]])
    sheet = rng.uniform(0.22, 0.32) * H  # the curtain's width outwards from its inner edge
    n_clumps = int(rng.integers(14, 22))
    for k in range(n_clumps):
        # Clumps spread across the sheet; the innermost few may fall further onto the face.
        u = (k + rng.uniform(0.0, 1.0)) / n_clumps
        inward = rng.uniform(0.0, 0.05) * H if u < 0.2 and rng.random() < 0.5 else 0.0
        off = u * sheet - inward
        cw = rng.uniform(0.02, 0.045) * H
        end = rng.uniform(0.85, 0.98) * H
        wig = (rng.normal(0, 0.012, 5) * H * (0.5 + curl)) * np.array([0.0, 0.3, 0.7, 1.0, 1.4])
        shade = rng.uniform(0.8, 1.15)
        sheen = rng.uniform(0.1, 0.7)
        for _ in range(int(rng.integers(36, 52))):
            o = off + rng.normal(0, 0.4) * cw
            own = rng.uniform(0.9, 1.03)
            cy = np.append(ys[:4], end * own)
            # Narrower towards the crown: the hair gathers towards a parting.
            cx = xs - o * np.array([0.55, 1.0, 1.0, 1.0, 1.05]) + wig + rng.normal(0, 1.5, 5)
            ctrl = np.stack([np.clip(cx, 4, W - 4), np.clip(cy, -2, H - 4)], 1)
            _strand(cv, ctrl, rng.uniform(0.6, 1.2), _colour(rng, base * shade, sheen * rng.uniform(0, 1)),
                    rng.uniform(0.7, 0.95), 0.45)
    for _ in range(int(rng.integers(6, 14))):  # wisps over the face from the inner edge
        y0 = rng.uniform(0.3, 0.7)
        p0 = np.array([np.interp(y0 * H, ys, xs), y0 * H])
        p1 = p0 + np.array([rng.uniform(0.02, 0.1), rng.uniform(0.05, 0.2)]) * H
        p2 = p1 + np.array([rng.uniform(-0.04, 0.04), rng.uniform(0.05, 0.15)]) * H
        ctrl = np.stack([p0, p1, p2])
        ctrl[:, 0] = np.clip(ctrl[:, 0], 4, W - 4)
        ctrl[:, 1] = np.clip(ctrl[:, 1], 0, H - 4)
        _strand(cv, ctrl, rng.uniform(0.3, 0.6), _colour(rng, base, 0.3), rng.uniform(0.35, 0.7), 0.8)
    # A highlight band across the sheet (light on the curve of the head), broken up by the clumps.
    yy = (np.arange(cv.H, dtype=np.float64) + 0.5) / cv.ss
    xx = (np.arange(cv.W, dtype=np.float64) + 0.5) / cv.ss
    band_y = rng.uniform(0.3, 0.5) * H + 0.15 * H * np.sin(xx / W * np.pi * rng.uniform(0.5, 1.5) + rng.uniform(0, 6))
    band = np.exp(-0.5 * ((yy[:, None] - band_y[None, :]) / (0.06 * H)) ** 2)
    gain = 1.0 + rng.uniform(0.15, 0.4) * band * (0.6 + 0.4 * np.sin(xx / rng.uniform(3.0, 6.0))[None, :])
    cv.rgb = np.minimum(cv.rgb * gain[..., None], cv.a[..., None])
    _fade_in(cv, 0.0, 0.16 * H)
    anchors = {"temple": [float(temple[0]), float(temple[1])], "jaw": [float(jaw[0]), float(jaw[1])]}
    targets = {"temple": "temple_left", "jaw": "jaw_left"}
    tags = {"cheek_inset": round(float(cover[1] / H), 3)}
    return cv, anchors, targets, tags


class _Hairline:
    """A fringe's hairline: an arc over ``[x0, x1]``, highest (``top_y``) over the middle of the forehead,
    lower (``side_y``) at the temples."""

    def __init__(self, x0: float, x1: float, top_y: float, side_y: float) -> None:
        self.x0, self.x1, self.top_y, self.side_y = x0, x1, top_y, side_y
        self.cx = 0.5 * (x0 + x1)

    def __call__(self, x: float) -> float:
        u = (x - self.cx) / (0.5 * (self.x1 - self.x0))
        return self.top_y + (self.side_y - self.top_y) * min(1.0, u * u)


def _fringe_clumps(cv: Canvas, rng: np.random.Generator, hl: _Hairline, centres: np.ndarray, part: float,
                   fringe_len: float, base: np.ndarray, curl: float) -> None:
    """Clumps rooted along the hairline at ``centres`` (0-1 across it); a clump's strands converge to its tip."""
    W, H = cv.w, cv.h
    for c in centres:
        side = c - part
        cw = rng.uniform(0.03, 0.06) * W  # the clump's width at its root
        xr = hl.x0 + c * (hl.x1 - hl.x0)
        yr = hl(xr)
        length = max(0.25 * H, (fringe_len - yr) * rng.uniform(0.8, 1.1) * (1 - 0.35 * abs(side) ** 1.5))
        sweep = side * rng.uniform(40, 90) + rng.normal(0, 8)
        wig = curl * rng.normal(0, 10)
        tip = np.array([xr + sweep, yr + length])
        shade = rng.uniform(0.8, 1.15)  # clumps differ: some lie deeper, some catch light
        sheen = rng.uniform(0.2, 0.9)
        for _ in range(int(rng.integers(28, 45))):
            off = rng.normal(0, 0.45) * cw
            own = rng.uniform(0.75, 1.05)  # strands of a clump end at slightly different lengths
            end = np.array([xr + off * 0.25, yr]) + (tip - np.array([xr, yr])) * own + rng.normal(0, 2.0, 2)
            ctrl = np.array([[xr + off * 1.3 + rng.normal(0, 2), -2.0],
                             [xr + off + sweep * 0.05, yr],
                             [xr + off * 0.7 + sweep * 0.45 + wig, yr + length * own * 0.45],
                             end])
            ctrl[:, 0] = np.clip(ctrl[:, 0], 6, W - 6)
            ctrl[:, 1] = np.clip(ctrl[:, 1], -2, H - 6)
            _strand(cv, ctrl, rng.uniform(0.45, 0.95), _colour(rng, base * shade, sheen * rng.uniform(0, 1)),
                    rng.uniform(0.6, 0.95))


def _fringe(rng: np.random.Generator, base: np.ndarray, curl: float) -> tuple[Canvas, dict, dict]:
    """A fringe over the forehead: hair above the hairline, then clumps and a few flyaways, faded in from above
    the hairline."""
    W, H = int(rng.integers(300, 340)), int(rng.integers(150, 200))
    cv = Canvas(W, H, SS)
    hl = _Hairline(0.1 * W, 0.9 * W, rng.uniform(0.2, 0.27) * H, rng.uniform(0.45, 0.55) * H)
    part = rng.uniform(0.3, 0.7)  # where the fringe parts: clumps sweep away from it
    fringe_len = rng.uniform(0.6, 0.85) * H  # how far the fringe falls below the hairline's top
    n_clumps = int(rng.integers(24, 36))
    centres = np.sort(rng.uniform(0, 1, n_clumps))
    # Hair above the hairline first (the head's top, leaving the upper border), then the fringe over it.
    for _ in range(int(rng.integers(250, 350))):
        x = rng.uniform(hl.x0 - 0.05 * W, hl.x1 + 0.05 * W)
        y_end = hl(float(np.clip(x, hl.x0, hl.x1))) + rng.uniform(0.0, 0.1) * H
        ctrl = np.array([[x + rng.normal(0, 4), -2.0], [x + rng.normal(0, 4), y_end * 0.5], [x, y_end]])
        ctrl[:, 0] = np.clip(ctrl[:, 0], 6, W - 6)
        _strand(cv, ctrl, rng.uniform(0.6, 1.1), _colour(rng, base * 0.8, 0.0), rng.uniform(0.7, 0.95), 0.7)
    _fringe_clumps(cv, rng, hl, centres, part, fringe_len, base, curl)
    for _ in range(int(rng.integers(8, 20))):  # flyaways
        x = rng.uniform(hl.x0, hl.x1)
        length = H * rng.uniform(0.6, 0.9)
        ctrl = np.array([[x, -2.0], [x + rng.normal(0, 25), length * 0.5], [x + rng.normal(0, 40), length]])
        ctrl[:, 0] = np.clip(ctrl[:, 0], 6, W - 6)
        ctrl[:, 1] = np.clip(ctrl[:, 1], -2, H - 6)
        _strand(cv, ctrl, 0.3, _colour(rng, base, 0.3), 0.5, 0.8)
    # The fringe fades in from above its hairline: it merges into the person's own hair (recoloured to it at
    # compositing time) instead of standing on the head as a block extended to the image border.
    _fade_in(cv, hl.top_y - 0.16 * H, 0.16 * H)  # opaque from the hairline's top down
    anchors = {"root_left": [float(hl.x0), float(0.55 * H)], "root_right": [float(hl.x1), float(0.55 * H)],
               "hairline": [float(hl.cx), float(hl.top_y)]}
    targets = {"root_left": "temple_left", "root_right": "temple_right", "hairline": "hairline"}
    return cv, anchors, targets


def _lock(rng: np.random.Generator, base: np.ndarray, curl: float, subtype: str,
          index: int) -> tuple[Canvas, dict, dict]:
    """A lock (140-260 strands) or a few single strands along an S-curve from the top border to a tip."""
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
        _strand(cv, ctrl, rng.uniform(0.4, 1.0), _colour(rng, base, rng.uniform(0, 0.6)), rng.uniform(0.6, 0.95))
    tip = centre[-1]
    mid = bezier(centre, 5)[3]
    anchors = {"root": [float(cx), 0.0], "middle": [float(mid[0]), float(mid[1])],
               "tip": [float(tip[0]), float(min(tip[1], H))]}
    face = ["eye_left", "eye_right", "cheek_left", "cheek_right", "brow_left", "brow_right"][index % 6]
    return cv, anchors, {"middle": face, "root": "exit_up"}


def generate(rng: np.random.Generator, index: int, subtype: str) -> tuple[dict, np.ndarray]:
    colours = list(HAIR_COLOURS)
    cname = colours[index % len(colours)]
    base = srgb(HAIR_COLOURS[cname])
    curl = float(rng.choice([0.0, 0.0, 0.5, 1.0]))
    tags: dict = {}
    if subtype == "curtain":
        cv, anchors, targets, tags = _curtain(rng, base, curl)
        scale = {"measure": "face_height", "length": float(cv.h), "range": [0.95, 1.05]}
    elif subtype == "fringe":
        cv, anchors, targets = _fringe(rng, base, curl)
        scale = {"measure": "face_width", "length": float(anchors["root_right"][0] - anchors["root_left"][0]),
                 "range": [0.95, 1.05]}
    else:
        cv, anchors, targets = _lock(rng, base, curl, subtype, index)
        scale = {"measure": "face_height", "length": float(cv.h), "range": [0.55, 0.9]}
    rgba = cv.to_rgba8()
    meta = {"kind": "hair", "subtype": subtype, "anchors": anchors, "targets": targets, "scale": scale,
            "rotation": [-4.0, 4.0] if subtype == "curtain" else [-12.0, 12.0], "mirror": True, "zones": [],
            "layer": 10, "tags": {"colour": cname, "curl": curl, **tags}}
    if subtype in ("lock", "strand"):  # they hang from above the image; fringes and curtains fade into the hair
        meta["exit_edge"] = "top"
    return meta, rgba
