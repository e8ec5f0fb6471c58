"""The realism steps that read the face photo: light (SH fit and occluder shading), skin detail, hair colour and the
camera match (blur and grain). Each changes the image and never the alpha; same params, same bytes."""

from dataclasses import replace

import cv2
import numpy as np
import pytest

from celebamat.synth import camera, hair_colour, lighting, skin_texture
from celebamat.synth.config import Chance, OccluderConfig, SynthConfig
from celebamat.synth.render import render
from celebamat.synth.sampling import sample_params, sample_rng, sample_seed

HANDS = SynthConfig(occluders=OccluderConfig(count=(0.0, 1.0), kinds={"hand": 1.0}))


def _lit_face(side: int = 256, light: tuple[float, float, float] = (-0.6, -0.2, 0.77)):
    """A grey ellipse shaded by a Lambertian light, its skin matte and frame."""
    centre, hw, hh = (side / 2, side / 2), 0.3 * side, 0.38 * side
    n, inside = lighting._ellipsoid_normals(side, 1.0, centre, hw, hh, 0.0)
    lin = 0.1 + 0.7 * np.clip(n @ np.asarray(light), 0, 1)
    srgb = np.where(inside, lin ** (1 / 2.2), 0.2)
    image = np.rint(np.repeat(srgb[..., None], 3, -1) * 255).astype(np.uint8)
    return image, inside.astype(np.float32), centre, 2 * hw, 2 * hh / 1.1


def test_face_light_fit_finds_the_side_the_light_comes_from():
    for lx in (-0.6, 0.6):
        image, skin, centre, w, h = _lit_face(light=(lx, -0.2, 0.77))
        c0, c1, c2, c3 = lighting.fit_face_light(image, skin, centre, w, h, 0.0)
        assert np.sign(c1) == np.sign(lx) and c3 > 0 and c0 > -0.2
        direction, obliquity = lighting.light_direction_2d((c0, c1, c2, c3))
        assert np.sign(direction[0]) == np.sign(lx) and 0 < obliquity < 1


def test_face_light_fit_falls_back_without_skin():
    image = np.zeros((64, 64, 3), np.uint8)
    assert lighting.fit_face_light(image, np.zeros((64, 64), np.float32), (32, 32), 30, 40, 0.0) == (0.5, 0.0, 0.0, 0.2)


def test_shading_brightens_the_side_facing_the_light_and_keeps_a_frontal_surface():
    alpha = np.zeros((80, 80), np.float32)
    cv2.circle(alpha, (40, 40), 25, 1.0, -1, cv2.LINE_AA)
    color = np.concatenate([np.repeat((alpha * 0.5)[..., None], 3, -1), alpha[..., None]], -1)
    light = (0.3, -0.3, 0.0, 0.4)  # from the image's left
    out = lighting.shade_occluder(color, light, 8.0, 1.0)
    assert out.shape == color.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[..., 3], alpha)  # the alpha is never touched
    assert out[40, 20, 0] > color[40, 20, 0] > out[40, 60, 0]  # left edge lit, right edge in shade
    assert out[40, 40, 0] == pytest.approx(color[40, 40, 0], abs=5e-3)  # the centre faces the camera
    assert lighting.shade_occluder(color, light, 8.0, 0.0) is color
    np.testing.assert_array_equal(lighting.shade_occluder(color, light, 8.0, 1.0, gain=1.3)[..., 3], alpha)


def test_skin_detail_is_mean_one_and_tiles_without_seams():
    rng = np.random.default_rng(0)
    image = np.clip(0.6 + 0.03 * rng.standard_normal((64, 64, 3)), 0, 1).astype(np.float32)
    d = skin_texture.skin_detail(image, (8, 8, 40, 40), 2.0)
    assert d.shape == (32, 32, 4) and np.allclose(d[..., :3].reshape(-1, 3).mean(0), 1.0, atol=1e-5)
    assert (d[..., 3] == 1).all() and 0.75 <= d[..., :3].min() and d.max() <= 1.2 / 0.9
    t = skin_texture.mirrored_tile(d, (100, 70), (5, 9))
    assert t.shape == (100, 70, 4)
    np.testing.assert_array_equal(t[:, 32 - 9], t[:, 31 - 9])  # a mirrored border repeats, never jumps
    rgba = np.full((100, 70, 4), 0.5, np.float32)
    assert skin_texture.apply_skin_detail(rgba, d, (5, 9), 0.0) is rgba
    out = skin_texture.apply_skin_detail(rgba, d, (5, 9), 0.7)
    np.testing.assert_allclose(out[..., :3], 0.5 * (1 + 0.7 * (t[..., :3] - 1)), rtol=1e-5)
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])  # the alpha is never touched


@pytest.mark.parametrize("patch", [(7, 5), (32, 40), (1, 1)])
@pytest.mark.parametrize("offset", [(0, 0), (13, 999), (-5, 7), (10**6, 3)])
def test_mirrored_tile_is_the_mirrored_period_tiled_from_the_offset(patch, offset):
    d = np.random.default_rng(1).random(patch + (4,)).astype(np.float32)
    period = np.concatenate([d, d[:, ::-1]], 1)
    period = np.concatenate([period, period[::-1]], 0)
    ph, pw = period.shape[:2]
    oy, ox = offset[0] % ph, offset[1] % pw
    tiled = np.tile(period, (-(-(90 + oy) // ph), -(-(70 + ox) // pw), 1))[oy : oy + 90, ox : ox + 70]
    t = skin_texture.mirrored_tile(d, (90, 70), offset)
    assert t.dtype == np.float32 and t.flags.c_contiguous
    np.testing.assert_array_equal(t, tiled)


def test_skin_patch_is_pure_skin_or_none(synth_faces):
    from celebamat.landmarks import face_anchors, face_frame

    face = synth_faces[0]
    anchors = face_anchors(face.landmarks)
    iod = face_frame(face.landmarks, anchors).iod
    box = skin_texture.skin_patch_box(face.skin, anchors, iod)
    if box is not None:
        x0, y0, x1, y1 = box
        assert face.skin[y0:y1, x0:x1].min() > 0.97
    assert skin_texture.skin_patch_box(np.zeros_like(face.skin), anchors, iod) is None
    # A patch the matte calls skin but that holds an edge (a frame, a shadow line) is refused.
    full = np.ones_like(face.skin)
    flat = np.full(face.image.shape, 0.6, np.float32)
    assert skin_texture.skin_patch_box(full, anchors, iod, image=flat) is not None
    stripes = flat.copy()
    stripes[:, (np.arange(stripes.shape[1]) // 10) % 2 == 0] = 0.1
    assert skin_texture.skin_patch_box(full, anchors, iod, image=stripes) is None


def test_camera_estimates_follow_the_photo():
    img = np.zeros((200, 200, 3), np.uint8)
    cv2.circle(img, (100, 100), 60, (255, 255, 255), -1, cv2.LINE_AA)
    box = (0, 0, 200, 200)
    sharp = camera.edge_blur_sigma(img, box)
    soft = camera.edge_blur_sigma(cv2.GaussianBlur(img, (0, 0), 2.0), box)
    assert sharp < 0.6 and soft == pytest.approx(2.0, abs=0.4)
    assert camera.occluder_sigma(0.3, 0.7) == 0.0 and 0 < camera.occluder_sigma(2.0, 0.7) < 1.4
    skin = np.ones((200, 200), np.float32)
    flat = np.full((200, 200, 3), 128, np.uint8)
    noisy = np.clip(128 + 4 * np.random.default_rng(1).standard_normal((200, 200, 1)), 0, 255).astype(np.uint8)
    assert camera.grain_sigma(flat, skin, box) < 0.5
    assert camera.grain_sigma(np.repeat(noisy, 3, -1), skin, box) == pytest.approx(4.0, rel=0.35)


def test_hair_colour_reads_the_band_above_the_face():
    img = np.full((128, 128, 3), 0.9, np.float32)
    img[:60] = (0.25, 0.15, 0.08)  # brown hair above
    skin = np.zeros((128, 128), np.float32)
    cv2.ellipse(skin, (64, 80), (30, 40), 0, 0, 360, 1.0, -1)
    lab = hair_colour.hair_lab(img, skin, np.array([64.0, 70.0]), np.array([0.0, 1.0]), 40.0)
    skin_lab = cv2.cvtColor(np.float32([[[0.8, 0.6, 0.5]]]), cv2.COLOR_RGB2Lab)[0, 0]
    assert hair_colour.hair_lab(img, skin, np.array([64.0, 70.0]), np.array([0.0, 1.0]), 40.0, skin_lab) is not None
    assert hair_colour.hair_lab(img, skin, np.array([64.0, 70.0]), np.array([0.0, 1.0]), 40.0, lab) is None
    ref = cv2.cvtColor(np.float32([[[0.25, 0.15, 0.08]]]), cv2.COLOR_RGB2Lab)[0, 0]
    assert lab is not None and np.allclose(lab, ref, atol=2.0)
    white = np.full((128, 128, 3), 1.0, np.float32)
    assert hair_colour.hair_lab(white, skin, np.array([64.0, 70.0]), np.array([0.0, 1.0]), 40.0) is None


def _hand_sample(face, library, i=0):
    p = sample_params(sample_rng(5, i), face, library, HANDS, split="train", seed=sample_seed(5, i))
    assets = {op.asset_id: library.get(op.asset_id) for op in p.occluders}
    return p, assets


def test_light_skin_and_camera_change_the_image_never_the_alpha(synth_faces, tiny_library):
    face = synth_faces[0]
    p, assets = _hand_sample(face, tiny_library)
    op = p.occluders[0]
    assert op.kind == "hand" and op.shade > 0 and op.skin_detail > 0 and p.light != (0.0, 0.0, 0.0, 0.0)
    base = replace(p, noise_sigma=0.0, jpeg_quality=0,
                   occluders=(replace(op, shade=0.0, skin_detail=0.0, grain=0.0),))
    ref = render(face, assets, base)
    for change in ({"shade": op.shade}, {"skin_detail": op.skin_detail}, {"grain": 3.0}):
        q = replace(base, occluders=(replace(base.occluders[0], **change),))
        s = render(face, assets, q)
        assert not np.array_equal(s.image, ref.image), change
        np.testing.assert_array_equal(s.alpha, ref.alpha)
        np.testing.assert_array_equal(s.occluder_alpha, ref.occluder_alpha)
    # The camera blur softens colour and alpha alike: the alpha changes, with the image, consistently.
    blurred = render(face, assets, replace(base, occluders=(replace(base.occluders[0], camera_sigma=2.0),)))
    assert not np.array_equal(blurred.alpha, ref.alpha)


def test_a_hand_with_the_face_colour_is_not_matched_to_the_scene_again(synth_faces, tiny_library):
    """The face's skin already carries the scene's light: a hand given that colour gets no light_match (which
    darkened hands in dark photos below their face), and its params say so; without the colour transfer the
    hand is matched to the scene as before, and light_match changes the image."""
    face = synth_faces[0]
    p, assets = _hand_sample(face, tiny_library)
    op = p.occluders[0]
    assert op.tone_transfer > 0 and op.light_match == 0.0

    plain = replace(HANDS, realism=replace(HANDS.realism, tone_transfer=Chance(0.0, (0.8, 1.0))))
    q = sample_params(sample_rng(5, 0), face, tiny_library, plain, split="train", seed=sample_seed(5, 0))
    assert q.occluders[0].tone_transfer == 0.0 and q.occluders[0].light_match > 0

    def image(light: float):
        return render(face, assets, replace(q, noise_sigma=0.0, jpeg_quality=0,
                                            occluders=(replace(q.occluders[0], light_match=light),))).image

    assert not np.array_equal(image(0.0), image(1.0))


def test_same_params_same_bytes_with_every_photo_step(synth_faces, tiny_library):
    face = synth_faces[1]
    p, assets = _hand_sample(face, tiny_library, 3)
    q, _ = _hand_sample(face, tiny_library, 3)
    assert p == q
    a, b = render(face, assets, p), render(face, assets, q)
    assert a.image.tobytes() == b.image.tobytes() and a.alpha.tobytes() == b.alpha.tobytes()
    assert all(isinstance(v, float) and round(v, 6) == v for v in p.light)


def test_photo_estimates_are_read_once_per_face(synth_faces, tiny_library, monkeypatch):
    calls = []
    fit = lighting.fit_face_light
    monkeypatch.setattr(lighting, "fit_face_light", lambda *a, **k: calls.append(1) or fit(*a, **k))
    face = replace(synth_faces[0])  # a face object no earlier test has read
    first = [_hand_sample(face, tiny_library, i)[0] for i in range(3)]
    assert len(calls) == 1
    # a copy is another face object (it may hold other pixels): read again, same params
    again = _hand_sample(replace(face), tiny_library, 0)[0]
    assert len(calls) == 2 and again == first[0]


def test_readings_kept_with_a_face_never_change_a_render(synth_faces, tiny_library):
    """Composites sharing a face read its photo once; the rows must not depend on which came first."""
    face = replace(synth_faces[1])
    samples = [_hand_sample(face, tiny_library, i) for i in range(4)]
    first = [render(face, assets, p) for p, assets in samples]  # fills the face's memo, then reuses it
    for (p, assets), shared in zip(samples, first):
        alone = render(replace(face), assets, p)  # a face object with an empty memo
        np.testing.assert_array_equal(shared.image, alone.image)
        np.testing.assert_array_equal(shared.alpha, alone.alpha)
