"""Procedural accessories: glasses, sunglasses, face masks, caps, hats, scarves and held objects."""

from __future__ import annotations

import math

import cv2
import numpy as np

from celebamat.occluders.draw import (Canvas, bezier, capsule, fbm, height_from_mask, lambert, normals, poly_mask,
                                      soft, specular, stroke_mask)
from celebamat.occluders.materials import glossy, mesh_ball

_LIGHT = (-0.4, -0.6, 0.8)


def _superellipse(c, a, b, p, n=160, tilt=0.0, lift=0.0):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x = a * np.sign(np.cos(t)) * np.abs(np.cos(t)) ** (2 / p)
    y = b * np.sign(np.sin(t)) * np.abs(np.sin(t)) ** (2 / p)
    y = y - lift * (x / a) * (y < 0)  # cat-eye: outer upper corner raised
    ct, st = math.cos(tilt), math.sin(tilt)
    return np.stack([c[0] + ct * x - st * y, c[1] + st * x + ct * y], -1)


def _shade_mask(cv: Canvas, m: np.ndarray, col, radius: float, amb=0.5, spec=0.0, tex=None):
    n = normals(height_from_mask(m, radius), 1.0)
    c = np.asarray(col, np.float64) * lambert(n, _LIGHT, amb)[..., None]
    if tex is not None:
        c = c * tex[..., None]
    if spec:
        c = c + spec * specular(n, _LIGHT, 30)[..., None]
    cv.over(np.clip(c, 0, 1), m)


def _glossy(base: np.ndarray, n: np.ndarray, reflect: float, amb: float = 0.5, power: float = 60.0,
            spec: float = 0.6) -> np.ndarray:
    """:func:`celebamat.occluders.materials.glossy` under the accessories' light."""
    return glossy(base, n, _LIGHT, reflect, amb, power, spec)


def _stick(cv: Canvas, a, b, r0, r1, col, amb=0.45, spec=0.3):
    """A shaded cylinder from ``a`` to ``b`` (output px)."""
    s = cv.ss
    res = capsule((cv.H, cv.W), np.asarray(a, float) * s, np.asarray(b, float) * s, r0 * s, r1 * s)
    if res is None:
        return
    (y0, y1, x0, x1), cov, n, _ = res
    c = np.asarray(col, np.float64) * lambert(n, _LIGHT, amb)[..., None] + spec * specular(n, _LIGHT, 40)[..., None]
    cv.over(np.clip(c, 0, 1), cov, y0, x0)


def glasses(rng, index, sun: bool):
    iod = 120.0
    W, H = int(iod * 2.3), int(iod * 0.75)
    cv = Canvas(W, H, 3)
    s = cv.ss
    cy = H * 0.5
    a, b = rng.uniform(26, 34), rng.uniform(19, 27)
    p = float(rng.choice([2.0, 2.6, 3.5, 5.0]))
    lift = rng.uniform(0, 6) if rng.random() < 0.3 else 0.0
    frame_col = np.array(rng.choice([[0.05, 0.05, 0.05], [0.35, 0.2, 0.1], [0.75, 0.62, 0.35],
                                     [0.7, 0.7, 0.72], [0.5, 0.1, 0.12], [0.15, 0.2, 0.35]]), np.float64)
    thick = rng.uniform(1.3, 2.2) if frame_col[0] > 0.6 else rng.uniform(2.0, 4.5)
    if sun:
        lens_col = np.array(rng.choice([[0.08, 0.08, 0.08], [0.22, 0.14, 0.07], [0.1, 0.2, 0.12],
                                        [0.12, 0.16, 0.3]]), np.float64)
        lens_a = rng.uniform(0.75, 0.92)
    else:
        lens_col = np.array([0.85, 0.9, 0.95], np.float64)
        lens_a = rng.uniform(0.1, 0.22)
    centres = [(W / 2 - iod / 2, cy), (W / 2 + iod / 2, cy)]
    shape = (cv.H, cv.W)
    for k, c in enumerate(centres):
        sgn = -1 if k == 0 else 1
        outline = _superellipse(c, a, b, p, lift=lift * sgn * -1 if k == 0 else lift) * s
        lens = poly_mask(shape, outline)
        # Lens: low alpha with a vertical gradient (sunglasses) and a diagonal specular streak.
        yy, xx = np.mgrid[0:cv.H, 0:cv.W].astype(np.float64)
        grad = 1.0 - 0.25 * np.clip((yy / s - (cy - b)) / (2 * b), 0, 1) if sun else 1.0
        streak = np.exp(-(((xx / s - c[0]) + (yy / s - c[1]) * 0.8 + a * 0.3) / (a * 0.12)) ** 2)
        alpha = lens * np.clip(lens_a * grad + 0.35 * streak, 0, 1)
        col = lens_col[None, None] * (1 - streak[..., None] * 0.8) + streak[..., None] * 0.8
        cv.over(np.clip(col, 0, 1), alpha)
        ring = np.clip(lens - cv2.erode((lens > 0.5).astype(np.uint8), np.ones((3, 3), np.uint8),
                                        iterations=max(1, int(thick * s / 2))).astype(np.float64), 0, 1)
        ring = np.maximum(ring, stroke_mask(shape, np.vstack([outline, outline[:1]]), thick * s * 0.6))
        _shade_mask(cv, ring, frame_col, thick * s * 0.5, 0.55, 0.4)
        # Temple arm: a short bar leaving the outer edge, seen end-on.
        ox = c[0] + sgn * a
        bar = np.array([[ox - sgn * 2, cy - b * 0.55], [ox + sgn * 10, cy - b * 0.6]]) * s
        _shade_mask(cv, stroke_mask(shape, bar, thick * s * 1.1), frame_col, thick * s * 0.5, 0.55, 0.4)
    bridge = bezier(np.array([[W / 2 - iod / 2 + a * 0.92, cy - b * 0.3], [W / 2, cy - b * 0.75],
                              [W / 2 + iod / 2 - a * 0.92, cy - b * 0.3]]), 30) * s
    _shade_mask(cv, stroke_mask(shape, bridge, thick * s * 0.9), frame_col, thick * s * 0.5, 0.55, 0.4)
    anchors = {"lens_left": [centres[0][0], cy], "lens_right": [centres[1][0], cy]}
    meta = {"anchors": anchors, "targets": {"lens_left": "eye_left", "lens_right": "eye_right"},
            "scale": {"measure": "iod", "length": iod, "range": [0.95, 1.08]}, "rotation": [-3.0, 3.0],
            "layer": 35, "tags": {"lens_alpha": round(float(lens_a), 3), "shape_exponent": p}}
    return meta, cv.to_rgba8()


def face_mask(rng, index):
    W, H = int(rng.integers(230, 260)), int(rng.integers(170, 200))
    cv = Canvas(W, H, 3)
    s = cv.ss
    cloth = index % 2 == 1
    mx, top, bot = 28.0, 12.0, H - 10.0
    if cloth:
        outline = np.vstack([bezier(np.array([[mx, top + 30], [W * 0.3, top + 4], [W / 2, top - 2]]), 30),
                             bezier(np.array([[W / 2, top - 2], [W * 0.7, top + 4], [W - mx, top + 30]]), 30),
                             bezier(np.array([[W - mx, top + 30], [W - mx + 4, bot - 40], [W / 2, bot]]), 40),
                             bezier(np.array([[W / 2, bot], [mx - 4, bot - 40], [mx, top + 30]]), 40)])
        col = np.array(rng.choice([[0.1, 0.1, 0.12], [0.2, 0.3, 0.55], [0.75, 0.2, 0.25], [0.85, 0.85, 0.82],
                                   [0.35, 0.45, 0.3]]), np.float64)
    else:
        outline = np.vstack([bezier(np.array([[mx, top + 22], [W / 2, top - 16], [W - mx, top + 22]]), 40),
                             bezier(np.array([[W - mx, top + 22], [W - mx + 6, bot * 0.7], [W * 0.62, bot]]), 30),
                             bezier(np.array([[W * 0.62, bot], [W / 2, bot + 6], [W * 0.38, bot]]), 20),
                             bezier(np.array([[W * 0.38, bot], [mx - 6, bot * 0.7], [mx, top + 22]]), 30)])
        col = np.array(rng.choice([[0.62, 0.78, 0.9], [0.93, 0.94, 0.95], [0.12, 0.12, 0.13],
                                   [0.85, 0.72, 0.8]]), np.float64)
    shape = (cv.H, cv.W)
    m = poly_mask(shape, outline * s)
    yy = np.mgrid[0:cv.H, 0:cv.W][0].astype(np.float64) / s
    tex = 0.93 + 0.07 * fbm(rng, shape, 4 * s, 3)
    if not cloth:  # pleats: three horizontal folds with a shadow under each
        for k in range(3):
            py = top + 30 + k * (bot - top - 50) / 2.5
            tex = tex * (1 - 0.18 * np.exp(-((yy - py - 5) / 3.0) ** 2)) * (1 + 0.08 * np.exp(-((yy - py) / 4) ** 2))
    else:
        xx = np.mgrid[0:cv.H, 0:cv.W][1].astype(np.float64) / s
        tex = tex * (1 - 0.25 * np.exp(-((xx - W / 2) / 1.5) ** 2))
    _shade_mask(cv, m, col, 40 * s, 0.6, 0.05, tex)
    for sgn in (-1, 1):  # ear loops leaving the sides
        x_in = W / 2 + sgn * (W / 2 - mx)
        loop = bezier(np.array([[x_in, top + 26], [x_in + sgn * (mx - 8), top + 20], [x_in + sgn * (mx - 8), bot - 50],
                                [x_in, bot - 40]]), 30) * s
        loop_col = col if cloth else np.array([0.95, 0.95, 0.95], np.float64)
        _shade_mask(cv, stroke_mask(shape, loop, 2.0 * s), loop_col, 1.5 * s, 0.6)
    anchors = {"top": [W / 2, top], "bottom": [W / 2, bot]}
    meta = {"anchors": anchors, "targets": {"top": "nose_bridge", "bottom": "chin"},
            "scale": {"measure": "face_height", "length": bot - top, "range": [0.95, 1.05]},
            "rotation": [-4.0, 4.0], "layer": 30, "tags": {"style": "cloth" if cloth else "surgical"}}
    return meta, cv.to_rgba8()


def headwear(rng, index, hat: bool):
    W, H = (int(rng.integers(330, 380)), 230) if hat else (int(rng.integers(250, 280)), 200)
    cv = Canvas(W, H, 3)
    s = cv.ss
    shape = (cv.H, cv.W)
    col = np.array(rng.choice([[0.1, 0.12, 0.2], [0.75, 0.15, 0.15], [0.85, 0.8, 0.65], [0.2, 0.35, 0.2],
                               [0.45, 0.3, 0.18], [0.9, 0.9, 0.9]]), np.float64)
    tex = 0.9 + 0.1 * fbm(rng, shape, 3 * s, 3)
    band_y = H * (0.72 if hat else 0.75)
    cw = W * (0.36 if hat else 0.42)
    if hat:
        brim = _superellipse((W / 2, band_y + 6), W / 2 - 8, 26, 2.0) * s
        _shade_mask(cv, poly_mask(shape, brim), col * 0.9, 18 * s, 0.55, 0.0, tex)
        crown = np.vstack([bezier(np.array([[W / 2 - cw, band_y], [W / 2 - cw * 1.05, 30], [W / 2, 8],
                                            [W / 2 + cw * 1.05, 30], [W / 2 + cw, band_y]]), 60)])
        _shade_mask(cv, poly_mask(shape, crown * s), col, 40 * s, 0.55, 0.0, tex)
        ribbon = poly_mask(shape, np.array([[W / 2 - cw, band_y - 22], [W / 2 + cw, band_y - 22],
                                            [W / 2 + cw, band_y - 2], [W / 2 - cw, band_y - 2]]) * s)
        ribbon = ribbon * poly_mask(shape, crown * s)
        _shade_mask(cv, ribbon, col * 0.35, 6 * s, 0.6, 0.2)
    else:
        crown = bezier(np.array([[W / 2 - cw, band_y], [W / 2 - cw, 10], [W / 2 + cw, 10], [W / 2 + cw, band_y]]), 60)
        _shade_mask(cv, poly_mask(shape, crown * s), col, 50 * s, 0.5, 0.05, tex)
        for sx in (-0.45, 0.0, 0.45):  # panel seams
            seam = bezier(np.array([[W / 2 + sx * cw, band_y], [W / 2 + sx * cw * 0.7, 40], [W / 2, 16]]), 20) * s
            m = stroke_mask(shape, seam, 1.2 * s) * poly_mask(shape, crown * s)
            cv.rgb *= (1 - 0.35 * m)[..., None]
        brim = np.vstack([bezier(np.array([[W / 2 - cw * 0.95, band_y - 4], [W / 2, band_y + 8],
                                           [W / 2 + cw * 0.95, band_y - 4]]), 30),
                          bezier(np.array([[W / 2 + cw * 0.95, band_y - 4], [W / 2 + cw * 0.6, H - 6],
                                           [W / 2 - cw * 0.6, H - 6], [W / 2 - cw * 0.95, band_y - 4]]), 40)])
        _shade_mask(cv, poly_mask(shape, brim * s), col * 0.85, 12 * s, 0.45, 0.1, tex)
        m = np.zeros(shape, np.float64)
        cv2.circle(m, (int(W / 2 * s), int((0.25 * band_y + 8.5) * s)), int(6 * s), 1.0, -1, cv2.LINE_AA)
        _shade_mask(cv, m, col * 0.8, 5 * s, 0.5, 0.2)
    anchors = {"band_left": [W / 2 - cw, band_y], "band_right": [W / 2 + cw, band_y]}
    meta = {"anchors": anchors, "targets": {"band_left": "temple_left", "band_right": "temple_right"},
            "scale": {"measure": "face_width", "length": 2 * cw, "range": [0.95, 1.1]}, "rotation": [-6.0, 6.0],
            "layer": 32, "tags": {}}
    return meta, cv.to_rgba8()


def scarf(rng, index):
    W, H = int(rng.integers(300, 340)), int(rng.integers(150, 190))
    cv = Canvas(W, H, 3)
    s = cv.ss
    shape = (cv.H, cv.W)
    top = 30.0
    outline = np.vstack([bezier(np.array([[14, top], [W / 2, top + 40], [W - 14, top]]), 40),
                         np.array([[W - 10, H + 2], [10, H + 2]])])
    m = poly_mask(shape, outline * s)
    c1 = np.array(rng.choice([[0.7, 0.1, 0.1], [0.15, 0.25, 0.5], [0.85, 0.8, 0.7], [0.3, 0.3, 0.3]]), np.float64)
    yy, xx = np.mgrid[0:cv.H, 0:cv.W].astype(np.float64) / s
    knit = 0.85 + 0.15 * np.abs(np.sin((xx + np.abs((yy % 6) - 3) * 1.5) * math.pi / 3))
    folds = 1 - 0.15 * (0.5 + 0.5 * np.sin(yy / 9 + fbm(rng, shape, 30 * s, 2) * 3))
    stripes = np.where((yy // 24) % 2 == 0, 1.0, 0.75) if index % 2 else 1.0
    _shade_mask(cv, m, c1, 30 * s, 0.55, 0.0, knit * folds * stripes)
    anchors = {"jaw_left": [W * 0.22, top + 14], "jaw_right": [W * 0.78, top + 14], "bottom": [W / 2, float(H)]}
    meta = {"anchors": anchors, "targets": {"jaw_left": "jaw_left", "jaw_right": "jaw_right", "bottom": "exit_down"},
            "scale": {"measure": "face_width", "length": W * 0.56, "range": [0.95, 1.1]}, "rotation": [-5.0, 5.0],
            "layer": 30, "tags": {}, "exit_edge": "bottom"}
    return meta, cv.to_rgba8()


def _cylinder(cv: Canvas, top: float, bottom: float, r_top: float, r_bottom: float, cx: float | None = None):
    """Coverage and upright-cylinder normals (varying across, hardly along) of a tapered cylinder with flat ends,
    output px ``top`` to ``bottom`` about the column ``cx`` (default: the canvas's centre)."""
    s, shape = cv.ss, (cv.H, cv.W)
    cx = cv.W / cv.ss / 2 if cx is None else cx
    body = np.array([[cx - r_top, top], [cx + r_top, top], [cx + r_bottom, bottom], [cx - r_bottom, bottom]]) * s
    m = poly_mask(shape, body)
    n = np.zeros((*shape, 3), np.float64)
    n[..., 2] = 1
    res = capsule(shape, np.array([cx, top]) * s, np.array([cx, bottom]) * s, r_top * s, r_bottom * s)
    if res is not None:
        (y0, y1, x0, x1), _, nn, _ = res
        n[y0:y1, x0:x1] = nn
    n[..., 1] *= 0.1
    return m, n / np.linalg.norm(n, axis=-1, keepdims=True)


def _microphone(rng, index):
    """A vocal microphone at the mouth: a ball of woven wire mesh (the dark foam shows through), a metal ring,
    a glossy handle about three grilles long, then either a stand's clip and rod or a cable leaving the frame."""
    W, H = 120, int(rng.integers(330, 390))
    cv = Canvas(W, H, 3)
    s = cv.ss
    shape = (cv.H, cv.W)
    cx, head = W / 2, (W / 2, 40.0)
    r = 30.0 + rng.uniform(-2, 2)
    body_col = np.array(rng.choice([[0.05, 0.05, 0.06], [0.12, 0.12, 0.13], [0.55, 0.56, 0.6]]), np.float64)
    dark = body_col[0] < 0.3
    end = 74.0 + rng.uniform(2.8, 3.2) * 2 * r
    on_stand = index % 2 == 0
    if on_stand:  # the stand's rod, then its swivel, behind the clip
        _stick(cv, (cx, end - 10), (cx, H + 20.0), 5.5, 5.5, np.array([0.08, 0.08, 0.09]), amb=0.35, spec=0.4)
        _stick(cv, (cx - 14, end + 6), (cx + 14, end + 6), 9, 9, np.array([0.1, 0.1, 0.11]), amb=0.35, spec=0.3)
    else:  # the cable, curving a little on its way down
        bend = rng.uniform(-30, 30)
        ctrl = np.array([[cx, end - 4], [cx, end + 40], [cx + bend, (end + H) / 2], [cx + bend * 0.5, H + 20.0]])
        cable = stroke_mask(shape, bezier(ctrl, 40) * s, 9.0 * s)
        _shade_mask(cv, cable, np.array([0.05, 0.05, 0.055]), 4.5 * s, amb=0.35, spec=0.25)
        _stick(cv, (cx, end - 18), (cx, end + 6), 11, 8.5, np.array([0.35, 0.35, 0.37]), spec=0.6)  # connector
    # The handle widens towards the head, as a vocal microphone's does.
    m, n = _cylinder(cv, 74.0, end, 19.0, 12.0, cx)
    cv.over(_glossy(body_col, n, 0.06 if dark else 0.3, 0.4, 80, 0.5), m)
    if on_stand:  # the clip: a matte band gripping the lower handle
        m, n = _cylinder(cv, end - 75, end - 10, 17.5, 15.5, cx)
        cv.over(np.clip(np.array([0.07, 0.07, 0.08]) * lambert(n, _LIGHT, 0.5)[..., None], 0, 1), m)
    m, n = _cylinder(cv, 62.0, 80.0, 23.0, 21.0, cx)  # the ring under the grille
    cv.over(_glossy(np.array([0.45, 0.45, 0.47]), n, 0.6, 0.5, 40, 0.6), m)
    pitch = rng.uniform(4.0, 5.5)  # coarse enough to survive the scale it is placed at
    m, c = mesh_ball(shape, np.array(head) * s, r * s, pitch * s, _LIGHT)
    cv.over(c, m)
    anchors = {"head": [head[0], head[1]], "handle": [cx, float(H)]}
    targets = {"head": ["mouth_center", "mouth_left", "mouth_right"][index % 3], "handle": "exit_down"}
    # A vocal microphone's grille is 4-5 cm across, a quarter of a face's height (the grille is 60 px of H).
    scale = {"measure": "face_height", "length": float(H), "range": [1.45, 1.75]}
    return {"anchors": anchors, "targets": targets, "scale": scale, "rotation": [-30.0, 30.0], "layer": 38,
            "tags": {"material": "metal mesh, gloss", "mount": "stand" if on_stand else "cable"},
            "exit_edge": "bottom"}, cv.to_rgba8()


def _straw(rng, index):
    W, H = 40, int(rng.integers(220, 280))
    cv = Canvas(W, H, 3)
    col = np.array(rng.choice([[0.9, 0.9, 0.9], [0.9, 0.3, 0.3], [0.3, 0.6, 0.9], [0.95, 0.8, 0.2]]))
    _stick(cv, (W / 2, 8), (W / 2, H + 10), 4.5, 4.5, col, spec=0.5)
    # Stripes and a bend near the tip keep it from looking like a rod.
    yy = np.mgrid[0:cv.H, 0:cv.W][0].astype(np.float64) / cv.ss
    if index % 2:
        cv.rgb *= np.where(((yy + 0.4 * np.mgrid[0:cv.H, 0:cv.W][1] / cv.ss) // 8) % 2 == 0, 1.0, 0.8)[..., None]
    anchors = {"tip": [W / 2, 8.0], "end": [W / 2, float(H)]}
    return {"anchors": anchors, "targets": {"tip": "mouth_center", "end": "exit_down"},
            "scale": {"measure": "face_height", "length": float(H), "range": [0.6, 0.9]},
            "rotation": [-15.0, 15.0], "layer": 38, "tags": {}, "exit_edge": "bottom"}, cv.to_rgba8()


def _phone(rng, index):
    # A phone held to the ear, back to the camera: a glass or aluminium back with rounded, reflective edges,
    # a camera block with lenses, and the room mirrored across it.
    W, H = int(rng.integers(90, 110)), int(rng.integers(180, 210))
    cv = Canvas(W, H, 3)
    s = cv.ss
    shape = (cv.H, cv.W)
    col = np.array(rng.choice([[0.08, 0.08, 0.09], [0.85, 0.85, 0.87], [0.3, 0.35, 0.5], [0.75, 0.55, 0.5]]))
    body = poly_mask(shape, _superellipse((W / 2, H / 2), W / 2 - 6, H / 2 - 6, 8.0, 200) * s)
    n = normals(height_from_mask(body, 5 * s), 1.0)
    # The back is flat glass: the environment sweeps over it as one broad diagonal reflection.
    yy, xx = np.mgrid[0:cv.H, 0:cv.W].astype(np.float64) / s
    sweep = np.exp(-(((xx / W - 0.2) + (yy / H - 0.2) * 0.7) / rng.uniform(0.12, 0.25)) ** 2)
    c = _glossy(col, n, 0.08, 0.55, 90, 0.5) + (0.18 * sweep * body)[..., None]
    cv.over(np.clip(c, 0, 1), body)
    m = np.zeros(shape, np.float64)
    cv2.rectangle(m, (int(12 * s), int(12 * s)), (int(42 * s), int(48 * s)), 1.0, -1, cv2.LINE_AA)
    m = soft(m, 1.5 * s) * body
    n2 = normals(height_from_mask(m, 2 * s), 1.0)
    cv.over(_glossy(col * 0.7, n2, 0.15, 0.5, 60, 0.4), m)
    for cy_ in (21, 38):
        mm = np.zeros(shape, np.float64)
        cv2.circle(mm, (int(27 * s), int(cy_ * s)), int(6.5 * s), 1.0, -1, cv2.LINE_AA)
        nl = normals(height_from_mask(mm, 6 * s), 1.0)
        lens = _glossy(np.array([0.02, 0.02, 0.04]), nl, 0.35, 0.3, 120, 0.9)
        cv.over(lens, mm)
    anchors = {"top": [W / 2, H * 0.3]}
    return {"anchors": anchors, "targets": {"top": ["ear_left", "ear_right"][index % 2]},
            # A phone is 13-16 cm long, a face 16-18 cm from forehead top to chin: the body nearly spans it.
            "scale": {"measure": "face_height", "length": float(H), "range": [0.75, 0.92]},
            "rotation": [-25.0, 25.0], "layer": 38, "tags": {"material": "glass, gloss"}}, cv.to_rgba8()


def _cup(rng, index):
    """A drink at the mouth: a takeaway cup (paper body, corrugated sleeve, plastic lid), a glazed mug with a
    handle and coffee inside, or a paper cup with a rolled rim and a printed band."""
    style = ("takeaway", "mug", "paper")[index % 3]
    W, H = int(rng.integers(150, 175)), int(rng.integers(160, 185))
    cv = Canvas(W, H, 3)
    s = cv.ss
    shape = (cv.H, cv.W)
    grain = 0.96 + 0.04 * fbm(rng, shape, 2 * s, 2)
    top, bottom = 26.0, H - 6.0
    cx = W / 2 - (12.0 if style == "mug" else 0.0)  # room for the mug's handle
    r_top = W / 2 - 28.0
    r_bottom = r_top * (1.0 if style == "mug" else 0.78)
    col = np.array(rng.choice([[0.95, 0.95, 0.93], [0.8, 0.3, 0.2], [0.2, 0.3, 0.5], [0.85, 0.75, 0.55]]))
    if style == "mug":
        handle = bezier(np.array([[cx + r_top - 4, top + 28], [cx + r_top + 40, top + 20],
                                  [cx + r_top + 40, bottom - 30], [cx + r_bottom - 4, bottom - 36]]), 40)
        hm = stroke_mask(shape, handle * s, 12.0 * s)
        _shade_mask(cv, hm, col, 6 * s, amb=0.5, spec=0.3)
    m, n = _cylinder(cv, top, bottom, r_top, r_bottom, cx)
    if style == "mug":
        c = _glossy(col, n, 0.1, 0.5, 50, 0.4)
    else:
        paper = col if style == "paper" else np.array(rng.choice([[0.96, 0.96, 0.95], [0.2, 0.2, 0.22]]))
        c = paper * lambert(n, _LIGHT, 0.55)[..., None] * grain[..., None]
    cv.over(np.clip(c, 0, 1), m)
    yy = np.mgrid[0:cv.H, 0:cv.W][0].astype(np.float64) / s
    if style == "takeaway":  # a kraft sleeve with fine corrugation over the middle
        band = m * ((yy > top + 0.3 * (bottom - top)) & (yy < top + 0.7 * (bottom - top)))
        kraft = np.array([0.62, 0.45, 0.3]) * (0.92 + 0.08 * np.cos(yy * 2.2))[..., None]
        cv.over(np.clip(kraft * lambert(n, _LIGHT, 0.5)[..., None] * grain[..., None], 0, 1), soft(band, 0.6 * s))
    elif style == "paper":  # a printed band
        band = m * ((yy > top + 0.45 * (bottom - top)) & (yy < top + 0.62 * (bottom - top)))
        ink = np.array(rng.choice([[0.1, 0.45, 0.3], [0.7, 0.1, 0.15], [0.15, 0.2, 0.55]]))
        cv.over(np.clip(ink * lambert(n, _LIGHT, 0.55)[..., None] * grain[..., None], 0, 1), soft(band, 0.6 * s))
    if style == "takeaway":  # the lid: a lip wider than the cup, then a raised drinking dome
        lid_col = np.array(rng.choice([[0.95, 0.95, 0.95], [0.1, 0.1, 0.11]]))
        for y0, y1, r0, r1 in ((top - 4, top + 8, r_top + 4, r_top + 4), (top - 16, top - 3, r_top - 4, r_top)):
            lm, ln = _cylinder(cv, y0, y1, r0, r1, cx)
            cv.over(_glossy(lid_col, ln, 0.12, 0.5, 60, 0.5), lm)
    else:  # the rim seen from just above: the drink inside, a bright lip round it
        lip = poly_mask(shape, _superellipse((cx, top), r_top, 8, 2.0) * s)
        inner = poly_mask(shape, _superellipse((cx, top + 0.5), r_top - 3.5, 6, 2.0) * s)
        cv.over(np.clip(col * 1.08 + 0.05, 0, 1) if style == "mug" else np.array([0.97, 0.97, 0.95]), lip)
        cv.over(np.array([0.22, 0.12, 0.07]) if style == "mug" else col * 0.55, inner)
    anchors = {"rim": [cx, top]}
    return {"anchors": anchors, "targets": {"rim": "mouth_center"},
            # The body is W - 56 px of the canvas: 8-9 cm across, half a face's width at the ears (15 cm).
            "scale": {"measure": "face_width", "length": float(W), "range": [0.7, 0.9]},
            "rotation": [-15.0, 15.0], "layer": 38, "tags": {"style": style}}, cv.to_rgba8()


def _stick_held(rng, index, subtype):
    """A pen or a cigarette: a diagonal stick, the mouth end at the top left."""
    W, H = 150, 150
    cv = Canvas(W, H, 3)
    a = np.array([14.0, 14.0])
    b = np.array([W - 14.0, H - 14.0]) - rng.uniform(0, 25, 2)
    if subtype == "pen":
        col = np.array(rng.choice([[0.1, 0.2, 0.6], [0.1, 0.1, 0.1], [0.8, 0.15, 0.1], [0.9, 0.9, 0.9]]))
        _stick(cv, a, b, 4.5, 4.5, col, spec=0.6)
        _stick(cv, b - (b - a) * 0.08, b, 4.5, 1.2, np.array([0.75, 0.75, 0.78]), spec=0.8)
        _stick(cv, a, a + (b - a) * 0.35, 5.2, 5.2, col * 0.8, spec=0.6)
    else:
        _stick(cv, a, b, 3.6, 3.6, np.array([0.96, 0.95, 0.93]), spec=0.3)
        _stick(cv, a, a + (b - a) * 0.25, 3.7, 3.7, np.array([0.85, 0.55, 0.3]), spec=0.3)
        _stick(cv, b - (b - a) * 0.04, b, 3.6, 3.4, np.array([0.9, 0.3, 0.05]), amb=0.8, spec=0.2)
    anchors = {"tip": [float(a[0]), float(a[1])], "end": [float(b[0]), float(b[1])]}
    return {"anchors": anchors, "targets": {"tip": ["mouth_left", "mouth_right"][index % 2]},
            "scale": {"measure": "face_width", "length": float(np.linalg.norm(b - a)), "range": [0.3, 0.45]},
            "rotation": [-30.0, 30.0], "layer": 38, "tags": {}}, cv.to_rgba8()


def held(rng, index, subtype):
    """Microphone, phone, cup, straw, pen, cigarette."""
    if subtype in ("pen", "cigarette"):
        return _stick_held(rng, index, subtype)
    return {"microphone": _microphone, "straw": _straw, "phone": _phone, "cup": _cup}[subtype](rng, index)


def generate(rng: np.random.Generator, index: int, subtype: str) -> tuple[dict, np.ndarray]:
    if subtype in ("eyeglasses", "sunglasses"):
        meta, rgba = glasses(rng, index, subtype == "sunglasses")
    elif subtype == "face_mask":
        meta, rgba = face_mask(rng, index)
    elif subtype in ("cap", "hat"):
        meta, rgba = headwear(rng, index, subtype == "hat")
    elif subtype == "scarf":
        meta, rgba = scarf(rng, index)
    else:
        meta, rgba = held(rng, index, subtype)
    meta.update({"kind": "accessory", "subtype": subtype, "mirror": True, "zones": []})
    return meta, rgba
