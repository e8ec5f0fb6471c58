"""The one-surface hand: heights merged part by part, shaded once (celebamat.occluders.surface), and the 3-D
capsules and hands built on it (celebamat.occluders.generators.hands)."""

from __future__ import annotations

import numpy as np
import pytest

from celebamat.occluders.generators.hands import (_FINGERS, _OBJECT, POSES, SUBTYPES, _capsule_part, _crease, _cup,
                                                  _Frame, _nail, _skeleton, generate)
from celebamat.occluders.materials import mesh_ball
from celebamat.occluders.surface import Surface, shade_skin, wrap_diffuse


def _ridge(shape, x_centre: float, radius: float, top: float):
    """A vertical half-cylinder ridge as a part: (box, cov, height, normal)."""
    h, w = shape
    xx = np.broadcast_to(np.arange(w, dtype=np.float64), shape)
    dx = xx - x_centre
    inside = np.abs(dx) < radius
    height = top - radius + np.sqrt(np.clip(radius * radius - dx * dx, 0, None))
    n = np.stack([dx / radius, np.zeros(shape), np.sqrt(np.clip(1 - (dx / radius) ** 2, 0.01, 1))], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    return (0, h, 0, w), inside.astype(np.float64), height, n


def test_surface_shapes_and_empty_start():
    s = Surface((20, 30))
    assert s.height.shape == (20, 30) and s.normal.shape == (20, 30, 3) and s.label.shape == (20, 30)
    assert not s.cov.any() and not s.label.any()


def test_higher_part_wins_without_a_join_and_coverage_is_the_union():
    shape = (8, 60)
    s = Surface(shape)
    s.add(1, *_ridge(shape, 20, 12, 10.0))
    s.add(2, *_ridge(shape, 32, 12, 30.0))
    row = s.label[4]
    assert row[20] == 1 and row[32] == 2 and row[25] == 2  # the high ridge covers the low one's edge
    assert s.cov[4, 9] == 1 and s.cov[4, 43] == 1 and s.cov[4, 50] == 0
    assert s.height[4, 32] == pytest.approx(30.0)


def test_a_join_merges_two_parts_into_one_smooth_surface():
    """Two ridges of equal height side by side: plain max leaves a deep V between them, a smooth join fills it
    (higher than both parts, never lower) and its slope has no kink."""
    shape = (4, 80)
    hard, soft = Surface(shape), Surface(shape)
    for s, k in ((hard, 0.0), (soft, 10.0)):
        s.add(1, *_ridge(shape, 32, 12, 20.0))
        s.add(2, *_ridge(shape, 48, 12, 20.0), blend=k, blend_with=(1,))
    valley_hard, valley_soft = hard.height[2, 40], soft.height[2, 40]
    assert valley_soft > valley_hard + 1.0
    assert np.all(soft.height[2, 21:59] >= hard.height[2, 21:59] - 1e-9)
    # The normal turns gradually across the join instead of flipping from one ridge's side to the other's.
    assert np.abs(np.diff(soft.normal[2, 36:45, 0])).max() < np.abs(np.diff(hard.normal[2, 36:45, 0])).max()


def test_occlusion_and_contact_are_zero_on_open_surface_and_high_beside_a_raised_part():
    shape = (40, 80)
    s = Surface(shape)
    flat_n = np.zeros((*shape, 3))
    flat_n[..., 2] = 1
    s.add(1, (0, 40, 0, 80), np.ones(shape), np.zeros(shape), flat_n)
    assert s.occlusion(6, 4).max() == 0 and s.contact(2, 3).max() == 0
    s.add(2, *_ridge(shape, 40, 6, 20.0))
    occ, contact = s.occlusion(6, 4), s.contact(2, 3)
    assert occ[20, 33] > 0.3 and occ[20, 5] == 0  # beside the ridge, not far from it
    assert contact[20, 33] > 0.2 and contact[20, 10] == 0 and contact[20, 40] == 0  # not on the ridge itself


def test_wrap_diffuse_reaches_past_the_terminator():
    n = np.array([[[0, 0, 1.0], [1.0, 0, 0], [-1.0, 0, 0]]])
    d = wrap_diffuse(n, (0, 0, 1), wrap=0.5)
    assert d[0, 0] == pytest.approx(1.0) and 0 < d[0, 1] < 1 and d[0, 2] == pytest.approx(d[0, 1])
    assert wrap_diffuse(n, (0, 0, 1), wrap=0.0)[0, 1] == 0


def test_skin_shadows_are_warmer_not_greyer():
    s = Surface((1, 2))
    s.normal[0, 0] = (0, 0, 1)
    s.normal[0, 1] = (0.94, 0, 0.34)  # turned away from a frontal light
    out = shade_skin(s, np.full((1, 2, 3), 0.6), (0, 0, 1))
    lit, dark = out[0, 0], out[0, 1]
    assert dark.sum() < lit.sum()
    assert dark[0] / dark[1] > lit[0] / lit[1] and dark[2] / dark[1] < lit[2] / lit[1]
    assert out.min() >= 0 and out.max() <= 1


def test_capsule_pointing_away_shows_its_near_end():
    """A finger seen end-on: the pixel on its axis sees the near end (depth z0 + radius), not the far one."""
    a, b = np.array([30.0, 30.0]), np.array([30.0, 34.0])
    box, cov, h, n, t = _capsule_part((60, 60), a, b, 8.0, 8.0, 0.0, -40.0, 1.0)
    y0, _, x0, _ = box
    assert h[30 - y0, 30 - x0] == pytest.approx(8.0, abs=0.5) and t[30 - y0, 30 - x0] < 0.05
    # In the plane, the same capsule is highest on its axis and its coverage ends at its radius.
    box, cov, h, n, t = _capsule_part((60, 60), np.array([10.0, 30.0]), np.array([50.0, 30.0]), 8, 8, 0, 0, 1)
    y0, _, x0, _ = box
    assert h[30 - y0, 30 - x0] == pytest.approx(8.0) and cov[30 - y0, 30 - x0] == 1
    assert cov[39 - y0, 30 - x0] == 0 and n[30 - y0, 30 - x0, 2] == pytest.approx(1.0)


@pytest.mark.parametrize("dz", [40.0, -40.0])
def test_capsule_at_a_steep_angle_is_solid_up_to_its_outline(dz):
    """A phalanx pointing at (or away from) the viewer covers its whole silhouette: no ring with a hole at the
    end whose sphere is hidden behind the other."""
    a, b = np.array([30.0, 20.0]), np.array([30.0, 40.0])
    box, cov, h, n, t = _capsule_part((60, 60), a, b, 8.0, 6.0, 0.0, dz, 0.8)
    y0, y1, x0, x1 = box
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    tp = np.clip((yy - 20.0) / 20.0, 0, 1)
    dist = np.hypot(xx - 30.0, yy - (20.0 + 20.0 * tp))
    r = 8.0 + (6.0 - 8.0) * tp
    assert (cov[dist <= r - 0.5] == 1).all() and (cov[dist >= r + 0.5] < 1e-9).all()
    assert np.isfinite(h[cov > 0]).all() and np.allclose(np.linalg.norm(n, axis=-1), 1.0)


def test_a_fist_has_its_thumb_across_pressed_fingers():
    for seed in range(5):
        for view in ("palm", "back"):
            joints, segs, _ = _skeleton(POSES["fist"], view, np.random.default_rng(seed))
            tip, last = joints[4], joints[4] - joints[3]
            # The thumb's tip lies across the curled fingers, beyond the middle finger's knuckle from its base,
            # its last phalanx crosswise (not pointing up).
            assert tip[0] < _FINGERS["middle"][0] < joints[1][0] and 0.25 < tip[1] < 0.55, (seed, view, tip)
            assert abs(last[0]) > 2 * abs(last[1]), (seed, view, last)
            # the phalanges in sight touch: from the palm the middle ones, from behind the first ones, which rise
            # from the knuckles (the fist seen a little from above) while the rest folds out of sight behind them
            shown = {sg.finger: sg for sg in segs if sg.index == (1 if view == "palm" else 0)}
            for f, g in (("index", "middle"), ("middle", "ring"), ("ring", "pinky")):
                gap = np.linalg.norm(0.5 * (shown[f].p0 + shown[f].p1) - 0.5 * (shown[g].p0 + shown[g].p1))
                assert gap < shown[f].r0 + shown[g].r0, (seed, view, f, g)  # curled fingers touch
            if view == "back":
                rise = [sg.p1[1] - sg.p0[1] for sg in shown.values() if sg.finger != "thumb"]
                assert all(0.02 < r < 0.12 for r in rise), (seed, rise)  # foreshortened, pointing up
                assert all(sg.z < shown[sg.finger].z for sg in segs if sg.finger in _FINGERS and sg.index > 0)


@pytest.mark.parametrize("pose", ["fist", "point", "peace"])
def test_seen_from_the_palm_curled_fingertips_and_the_thumb_show_their_nails(pose):
    for seed in range(5):
        _, segs, _ = _skeleton(POSES[pose], "palm", np.random.default_rng(seed))
        by = {(sg.finger, sg.index): sg for sg in segs}
        for finger in _FINGERS:
            tip, mid = by[(finger, 2)], by[(finger, 1)]
            if sum(POSES[pose][finger][1]) <= 150:
                continue
            # the tip reaches out below its middle phalanx, far enough for the relief to draw its nail
            # (_relief skips parts shorter than 0.35 (r0 + r1)), and shows its back (past 95 degrees)
            assert np.linalg.norm(tip.p1 - tip.p0) >= 0.35 * (tip.r0 + tip.r1), (pose, seed, finger)
            assert tip.p1[1] < mid.p1[1] and tip.phi > np.radians(95), (pose, seed, finger)
        # the thumb holding the curled fingers down lies on them pad first: its nail side faces the viewer
        assert all(by[("thumb", k)].phi > np.radians(95) for k in range(3)), (pose, seed)
    _, back, _ = _skeleton(POSES[pose], "back", np.random.default_rng(0))
    assert all(sg.phi == 0.0 for sg in back if sg.finger == "thumb")  # from behind, the thumb is unchanged


@pytest.mark.parametrize("subtype", sorted(SUBTYPES))
def test_hand_is_one_opaque_body_with_a_soft_outline(subtype):
    meta, rgba = generate(np.random.default_rng(3), 3, subtype)
    a = rgba[..., 3]
    assert rgba.dtype == np.uint8 and rgba.shape[2] == 4
    assert (a == 255).mean() > 0.15 and ((a > 0) & (a < 255)).any()
    assert a[-1].max() == 255 and a[0].max() == 0  # the forearm leaves through the bottom border only
    skin = rgba[..., :3][a == 255].astype(np.float64)
    # Skin-coloured: red above green above blue on average, and shaded (not a flat fill).
    mean = skin.mean(0)
    assert mean[0] > mean[1] > mean[2] and skin[:, 1].std() > 4


def test_mesh_ball_is_a_round_grille_of_bright_wires_over_dark_foam():
    cov, col = mesh_ball((60, 60), np.array([30.0, 30.0]), 20.0, 5.0, (-0.2, -0.3, 0.93))
    assert cov.shape == (60, 60) and col.shape == (60, 60, 3)
    assert cov[30, 30] == 1 and cov[30, 52] == 0 and cov[5, 5] == 0 and 0 < cov[30, 50] <= 1
    lum = col[cov == 1].mean(-1)
    assert lum.min() < 0.1 and lum.max() > 0.5  # wires and holes both show
    assert not col[cov == 0].any()


@pytest.mark.slow
def test_a_held_microphone_sits_in_the_fist_with_its_grille_at_the_mouth_anchor():
    for index in range(8):
        meta, rgba = generate(np.random.default_rng(index), index, "holding")
        x, y = (int(round(v)) for v in meta["anchors"]["object"])
        assert rgba[y, x, 3] == 255  # the anchor lies on the held object, which is opaque


def test_a_crease_is_a_fine_dark_fold_with_a_lit_lip_only_where_its_part_is_on_top():
    ctrl = np.array([[10.0, 20.0], [30.0, 16.0], [50.0, 20.0]])
    rgb = np.full((40, 60, 3), 0.6)
    _crease(rgb, np.ones((40, 60)), ctrl, 0.2, 300.0)
    lum = rgb.mean(-1)
    assert lum.min() < 0.6 * 0.88  # the fold, darkened by about its depth
    assert lum.max() > 0.605  # the lit lip beside it
    assert np.allclose(rgb[:8], 0.6) and np.allclose(rgb[30:], 0.6)  # fine: nothing a few pixels away
    other = np.full((40, 60, 3), 0.6)
    _crease(other, np.zeros((40, 60)), ctrl, 0.2, 300.0)
    assert np.allclose(other, 0.6)


def test_a_held_cup_is_open_at_its_rim_narrows_to_its_base_and_carries_its_printed_band():
    S = 200.0
    fr = _Frame(np.eye(2), False, -0.5, 1.5, S)
    surf = Surface((int(1.6 * S), int(S)))
    w, h, cy, tilt = 0.3, 0.6, 0.62, 0.15
    obj = {"kind": "cup", "w": w, "h": h, "cx": 0.0, "cy": cy, "mouth": cy + 0.35 * h, "tilt": tilt,
           "color": np.array([0.9, 0.9, 0.88]), "band": (0.3, 0.6), "band_color": np.array([0.2, 0.45, 0.8]),
           "taper": 0.8}
    col = _cup(surf, fr, obj, 1.0)[_OBJECT]
    top, bottom, front = cy + h / 2, cy - h / 2, tilt * w / 2

    def at(x: float, y: float) -> tuple[int, int]:
        px = fr.grid(np.array([x, y]))
        return int(round(px[1])), int(round(px[0]))

    on = surf.label == _OBJECT
    lum = col.mean(-1)
    body, band, rim = at(0.0, bottom - front + 0.15 * h), at(0.0, bottom - front + 0.45 * h), at(0.0, top)
    assert on[body] and on[band] and on[rim]
    assert lum[rim] < 0.5 * lum[body]  # the inside, in shade
    assert col[band][2] > col[band][0] + 0.1 and abs(col[body][2] - col[body][0]) < 0.1  # blue band, white cup
    # The outline is curved: past the back of the rim and the front of the base there is no cup, and the base's
    # front curve sits lower in the middle than at the sides.
    assert not on[at(0.0, top + front + 0.02)] and not on[at(0.0, bottom - front - 0.02)]
    assert on[at(0.0, bottom - 0.6 * front)] and not on[at(0.13, bottom - 0.6 * front)]
    # A paper cup: as wide as its rim near the top, a fifth narrower at the base.
    assert on[at(0.9 * w / 2, top - 0.1 * h)] and not on[at(0.9 * w / 2, bottom + 0.1 * h)]



def test_a_nail_is_a_paler_plate_with_a_nearly_white_tip_and_a_darker_fold():
    base = np.array([0.7, 0.5, 0.4])
    rgb = np.broadcast_to(base, (60, 40, 3)).copy()
    a, u, v = np.array([20.0, 55.0]), np.array([0.0, -1.0]), np.array([1.0, 0.0])  # the phalanx points up
    _nail(rgb, np.ones((60, 40)), a, u, v, 50.0, 12.0, base, 300.0)
    lum = rgb.mean(-1)
    at = lambda t, s=0.0: tuple(int(round(c)) for c in (a + u * t * 50.0 + v * s)[::-1])  # noqa: E731
    plate, tip = rgb[at(0.6)], rgb[at(0.93)]
    assert plate.mean() > base.mean() + 0.03 and plate[1] / plate[0] > base[1] / base[0]  # paler, less saturated
    assert tip.mean() > plate.mean() + 0.05 and np.ptp(tip) < np.ptp(plate)  # the free edge: whiter still
    assert lum[at(0.6, 9.5)] < base.mean() - 0.01  # the fold beside the plate
    assert np.allclose(rgb[at(0.1)], base)  # the rest of the finger is untouched


def test_a_held_object_is_named_in_the_tags():
    for index in range(4):
        meta, _ = generate(np.random.default_rng(index), index, "holding")
        assert meta["tags"]["held"] in ("cup", "mic"), meta["tags"]
    meta, _ = generate(np.random.default_rng(0), 0, "on_cheek")
    assert "held" not in meta["tags"]
