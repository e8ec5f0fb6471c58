import json
import random
from dataclasses import asdict, replace

import cv2
import numpy as np
import pytest

from celebamat.landmarks import face_anchors
from celebamat.synth.config import OccluderConfig, SynthConfig
from celebamat.synth.params import CompositeParams, OccluderParams
from celebamat.synth.placement import compose
from celebamat.synth.render import composite, quantize, render, render_layers
from celebamat.synth.sampling import sample_params, sample_rng, sample_seed

BUSY = SynthConfig(occluders=OccluderConfig(count=(0.0, 0.3, 0.4, 0.3),
                                            kinds={"hand": 1, "hair": 1, "accessory": 1, "translucent": 1}))


def _sample(face, library, i, split="train", config=BUSY):
    p = sample_params(sample_rng(7, i), face, library, config, split=split, seed=sample_seed(7, i))
    return p, {op.asset_id: library.get(op.asset_id) for op in p.occluders}


def test_ground_truth_identities_hold_on_many_samples(synth_faces, tiny_library):
    for i in range(24):
        face = synth_faces[i % 2]
        p, assets = _sample(face, tiny_library, i)
        s = render(face, assets, p)
        layers = render_layers(face, assets, p)
        keep = np.ones(face.skin.shape, np.float32)  # the mattes' precision (float32, as the skin)
        for layer in layers:
            keep *= 1.0 - layer.alpha
        skin = face.skin.astype(np.float32)
        np.testing.assert_array_equal(s.alpha, quantize(skin * keep))
        np.testing.assert_array_equal(s.occluder_alpha, quantize(1.0 - keep))
        assert (s.alpha <= s.skin).all()
        untouched = keep == 1.0
        np.testing.assert_array_equal(s.alpha[untouched], s.skin[untouched])
        assert s.alpha.dtype == np.uint8 and s.alpha.max() == 255  # 255 = skin, never 0/1


def test_image_equals_the_compositing_equation(synth_faces, tiny_library):
    face = synth_faces[0]
    for i in range(6):
        p, assets = _sample(face, tiny_library, i)
        p = replace(p, noise_sigma=0.0, jpeg_quality=0)
        s = render(face, assets, p)
        canvas = face.image.astype(np.float32) / 255.0
        for layer in render_layers(face, assets, p):
            if layer.shadow is not None:
                canvas = canvas * (1.0 - layer.shadow)[..., None]
            canvas = layer.color + (1.0 - layer.alpha)[..., None] * canvas
        np.testing.assert_array_equal(s.image, np.rint(np.clip(canvas, 0, 1) * 255).astype(np.uint8))


def test_same_seed_same_bytes_other_seed_other_sample(synth_faces, tiny_library):
    face = synth_faces[1]
    p1, assets = _sample(face, tiny_library, 3)
    p2, _ = _sample(face, tiny_library, 3)
    assert p1 == p2 and p1.to_json() == p2.to_json()
    a, b = render(face, assets, p1), render(face, assets, p2)
    assert a.image.tobytes() == b.image.tobytes() and a.alpha.tobytes() == b.alpha.tobytes()
    p3, _ = _sample(face, tiny_library, 4)
    assert p3 != p1


def test_params_round_trip_through_json(synth_faces, tiny_library):
    p, assets = _sample(synth_faces[0], tiny_library, 5)
    q = CompositeParams.from_json(p.to_json())
    assert q == p
    # the JSON of dataclasses.asdict, byte for byte: rows written before keep their params column
    assert p.occluders and p.to_json() == json.dumps(asdict(p), sort_keys=True, separators=(",", ":"))
    assert render(synth_faces[0], assets, q).image.tobytes() == render(synth_faces[0], assets, p).image.tobytes()


def test_no_global_random_state_is_used(synth_faces, tiny_library):
    np.random.seed(123)
    random.seed(123)
    np_state, py_state = np.random.get_state()[1].copy(), random.getstate()
    for i in range(4):
        p, assets = _sample(synth_faces[0], tiny_library, i)
        render(synth_faces[0], assets, p)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    assert random.getstate() == py_state
    # and seeding the global generators differently changes nothing
    np.random.seed(999)
    random.seed(999)
    assert _sample(synth_faces[0], tiny_library, 2)[0] == _sample(synth_faces[0], tiny_library, 2)[0]


def test_test_rows_draw_only_test_assets(synth_faces, tiny_library):
    for i in range(30):
        for split, want in (("test", "test"), ("train", "train"), ("validation", "train")):
            p, assets = _sample(synth_faces[0], tiny_library, i, split=split)
            assert all(a.split == want for a in assets.values())


def _one(face, asset, **kw):
    m = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    op = OccluderParams(asset_id=asset.id, kind=asset.kind, subtype=asset.subtype,
                        transform=tuple(m.reshape(-1)), **kw)
    return CompositeParams(seed=1, face_id=face.face_id, size=face.size, occluders=(op,))


def test_premultiplied_warping_leaves_no_dark_fringe(synth_faces, tiny_library):
    """A white soft-edged blob over a white face region must stay white at its edges."""
    face = synth_faces[0]
    white = replace(face, image=np.full_like(face.image, 255))
    blob = tiny_library.get("blob-train")
    op = OccluderParams(asset_id=blob.id, kind="translucent", subtype="smoke",
                        transform=(1.3, 0.2, 40.0, -0.2, 1.3, 60.0))
    s = render(white, {blob.id: _whitened(blob)}, CompositeParams(seed=0, face_id="x", size=face.size,
                                                                    occluders=(op,)))
    assert s.image.min() >= 254


def _whitened(asset):
    """A hard-edged white disc, black where transparent: a straight-alpha warp would pull the black in."""
    h, w = asset.rgba().shape[:2]
    rgba = np.zeros((h, w, 4), np.uint8)
    cv2.circle(rgba, (w // 2, h // 2), w // 3, (255, 255, 255, 255), -1)
    return replace(asset, _cache={"rgba": rgba})


def test_shadow_darkens_the_face_but_never_the_matte(synth_faces, tiny_library):
    face, arm = synth_faces[0], tiny_library.get("arm-train")
    anchors = face_anchors(face.landmarks)
    t = anchors["mouth_center"] - np.array(arm.anchors["palm"]) * 0.5
    base = dict(asset_id=arm.id, kind="hand", subtype="cover_mouth", transform=(0.5, 0, t[0], 0, 0.5, t[1]),
                extend="bottom")
    p0 = CompositeParams(seed=1, face_id=face.face_id, size=face.size, occluders=(OccluderParams(**base),))
    p1 = replace(p0, occluders=(OccluderParams(**base, shadow_opacity=0.4, shadow_offset=(6.0, 8.0),
                                               shadow_blur=4.0),))
    a, b = render(face, {arm.id: arm}, p0), render(face, {arm.id: arm}, p1)
    np.testing.assert_array_equal(a.alpha, b.alpha)
    np.testing.assert_array_equal(a.occluder_alpha, b.occluder_alpha)
    assert (b.image.astype(int) <= a.image.astype(int)).all() and (b.image < a.image).any()


def test_forearm_reaches_the_image_border(synth_faces, tiny_library):
    arm = tiny_library.get("arm-train")
    cfg = SynthConfig(occluders=OccluderConfig(count=(0.0, 1.0), kinds={"hand": 1.0}))
    for i in range(10):
        face = synth_faces[i % 2]
        p, assets = _sample(face, tiny_library, i, config=cfg)
        (layer,) = render_layers(face, assets, p)
        border = np.concatenate([layer.alpha[-1], layer.alpha[:, 0], layer.alpha[:, -1]])
        assert border.max() > 0.9, f"sample {i}: the forearm ends in mid-air"
        # and the layer is one connected piece from the mouth to the border
        n, labels = cv2.connectedComponents((layer.alpha > 0.5).astype(np.uint8))
        mouth = face_anchors(face.landmarks)["mouth_center"].round().astype(int)
        edge_labels = set(labels[-1][layer.alpha[-1] > 0.5]) | set(labels[:, 0][layer.alpha[:, 0] > 0.5]) | set(
            labels[:, -1][layer.alpha[:, -1] > 0.5])
        assert labels[mouth[1], mouth[0]] in edge_labels
    assert arm.exit_edge == "bottom"


@pytest.mark.parametrize("edge", ["bottom", "top", "left", "right"])
def test_an_extended_limb_goes_on_without_streaks(edge):
    """A forearm drawn out past its cut keeps the cut's outline and the limb's colour profile across, averaged
    over its last stretch: the pixel noise of the last line is not drawn out into streaks (sample format 9;
    before, the last line was repeated). The asset's own pixels are untouched and sit where the matrix says."""
    from celebamat.synth.extend import _EXTEND_BAND, _TURNS, extend_limb

    rng = np.random.default_rng(3)
    n, w = 50, 20
    arm = np.zeros((n, w, 4), np.float32)  # an arm along the rows, cut at the bottom; shaded across, noisy
    arm[:, 4:16, 3] = 1.0
    arm[..., 3][:, 3] = arm[..., 3][:, 16] = 0.5  # soft sides
    shade = np.linspace(0.4, 0.8, w, dtype=np.float32)[None, :, None]
    arm[..., :3] = np.clip(shade + rng.normal(0, 0.08, (n, w, 3)), 0, 1) * arm[..., 3:]
    turn = _TURNS[edge]  # the asset's view with the cut at the bottom; its inverse makes the asset from the arm
    back = {"bottom": lambda a: a, "top": lambda a: a[::-1], "right": lambda a: a.transpose(1, 0, 2),
            "left": lambda a: a[::-1].transpose(1, 0, 2)}[edge]
    prem = np.ascontiguousarray(back(arm))
    m = np.array([[1.0, 0.0, 5.0], [0.0, 1.0, 7.0]])
    out, m2 = extend_limb(prem, edge, m, 64)
    np.testing.assert_allclose(m2[:, :2], m[:, :2])
    dx, dy = int(round(m[0, 2] - m2[0, 2])), int(round(m[1, 2] - m2[1, 2]))  # where the asset's origin went
    np.testing.assert_array_equal(out[dy:dy + prem.shape[0], dx:dx + prem.shape[1]], prem)
    ext = turn(out)[n:]  # the drawn-out part, as rows beyond the cut
    assert len(ext) >= 1.5 * 64  # 1.5 image sides at this scale
    np.testing.assert_array_equal(ext[..., 3], np.broadcast_to(arm[-1, :, 3], ext.shape[:2]))
    band = int(round(_EXTEND_BAND * n))
    inside = slice(4, 16)
    profile = (arm[n - band:, inside, :3] / arm[n - band:, inside, 3:]).mean(0)
    np.testing.assert_allclose(ext[:, inside, :3], np.broadcast_to(profile, ext[:, inside, :3].shape), atol=1e-5)
    # Streaks were the last line's noise: the extension is far smoother across than that line.
    roughness = [np.abs(np.diff(line[inside, :3], axis=0)).mean() for line in (ext[0], arm[-1])]
    assert roughness[0] < 0.5 * roughness[1]


def test_blur_applies_to_colour_and_alpha_alike(synth_faces, tiny_library):
    face, blob = synth_faces[0], tiny_library.get("blob-train")
    sharp = _one(face, blob)
    blurred = _one(face, blob, defocus_sigma=3.0)
    (ls,) = render_layers(face, {blob.id: blob}, sharp)
    (lb,) = render_layers(face, {blob.id: blob}, blurred)
    from celebamat.synth.realism import gaussian

    np.testing.assert_allclose(lb.alpha, np.clip(gaussian(ls.alpha, 3.0), 0, 1), atol=1e-5)
    np.testing.assert_allclose(lb.color, np.minimum(gaussian(ls.color, 3.0), lb.alpha[..., None]), atol=1e-5)


def test_a_transparent_margin_around_an_asset_changes_no_layer(synth_faces, tiny_library):
    """Layers are warped from the asset's visible box: its transparent margin costs nothing and changes nothing."""
    face, pad, seen = synth_faces[0], 48, 0
    shift = np.array([[1.0, 0.0, -pad], [0.0, 1.0, -pad]])  # padded asset pixels to the asset's own
    for i in range(12):
        p, assets = _sample(face, tiny_library, i)
        # (an extended limb goes on from the asset's edge as drawn: a margin there is part of the drawing)
        p = replace(p, occluders=tuple(replace(op, extend="") for op in p.occluders))
        padded = {k: replace(a, _cache={"rgba": np.pad(a.rgba(), ((pad, pad), (pad, pad), (0, 0)))})
                  for k, a in assets.items()}
        moved = replace(p, occluders=tuple(replace(op, transform=tuple(compose(op.matrix, shift).ravel()))
                                           for op in p.occluders))
        for a, b in zip(render_layers(face, assets, p), render_layers(face, padded, moved), strict=True):
            assert a.box == b.box
            np.testing.assert_allclose(b.alpha_roi, a.alpha_roi, atol=1e-4)
            np.testing.assert_allclose(b.color_roi, a.color_roi, atol=1e-4)
            seen += 1
    assert seen >= 8


def test_composite_without_layers_is_the_clean_face(synth_faces):
    face = synth_faces[0]
    img, alpha, occ = composite(face.image / 255.0, face.skin, [])
    np.testing.assert_array_equal(quantize(alpha), quantize(face.skin))
    assert occ.max() == 0


def test_render_refuses_a_face_of_the_wrong_size(synth_faces):
    with pytest.raises(ValueError, match="params expect 512"):
        render(synth_faces[0], {}, CompositeParams(seed=0, face_id="x", size=512))


def test_alpha_never_rounds_above_skin_at_half_levels(synth_faces, tiny_library):
    """Skin values on the half-levels (k + 0.5) / 255 are where two precisions would round apart."""
    face = synth_faces[0]
    n = face.size * face.size
    skin = (((np.arange(n) % 255) + 0.5) / 255.0).astype(np.float32).reshape(face.size, face.size)
    half = replace(face, skin=skin)
    for i in range(6):
        p, assets = _sample(half, tiny_library, i)
        s = render(half, assets, p)
        assert (s.alpha <= s.skin).all()
        free = s.occluder_alpha == 0
        keep = np.ones(skin.shape)
        for layer in render_layers(half, assets, p):
            keep *= 1.0 - layer.alpha.astype(np.float64)
        np.testing.assert_array_equal(s.alpha[keep == 1.0], s.skin[keep == 1.0])
        assert free.any()


def test_to_uint8_rounds_like_rint_including_half_levels():
    from celebamat.synth.render import to_uint8

    x = np.concatenate([np.linspace(0, 1, 4099), (np.arange(255) + 0.5) / 255.0]).astype(np.float32)
    img = np.repeat(x[None, :, None], 3, axis=2)
    np.testing.assert_array_equal(to_uint8(img), np.rint(img * np.float32(255.0)).astype(np.uint8))
    assert to_uint8(img).dtype == np.uint8 and to_uint8(img).shape == img.shape


def test_a_jpeg_compressed_sample_keeps_the_bytes_its_pixels_come_from(synth_faces, tiny_library):
    from celebamat.synth.realism import decode_jpeg

    face = synth_faces[0]
    p, assets = _sample(face, tiny_library, 2)
    s = render(face, assets, replace(p, jpeg_quality=80))
    assert s.image_jpeg is not None and s.image_jpeg[:2] == b"\xff\xd8"
    np.testing.assert_array_equal(s.image, decode_jpeg(s.image_jpeg))
    plain = render(face, assets, replace(p, jpeg_quality=0))
    assert plain.image_jpeg is None and plain.image.shape == s.image.shape
    # Everything but the final compression is the same sample.
    assert np.abs(plain.image.astype(int) - s.image).mean() < 3
    np.testing.assert_array_equal(plain.alpha, s.alpha)
