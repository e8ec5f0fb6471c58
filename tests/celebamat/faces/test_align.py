import math

import cv2
import numpy as np
import pytest

from celebamat.faces.align import (
    align_image,
    alignment_points,
    alignment_transform,
    invert_transform,
    transform_points,
    transform_scale,
)
from celebamat.faces.photo import align_photo, locate_face


def _eyes(landmarks):
    p = alignment_points(landmarks)
    return p["eye_left"], p["eye_right"]


def test_aligned_face_is_upright_and_centred(demo_faces):
    for rec in demo_faces.values():
        el, er = _eyes(rec.landmarks)
        roll = math.degrees(math.atan2(er[1] - el[1], er[0] - el[0]))
        assert abs(roll) < 3.0
        mid = (el + er) / 2
        assert abs(mid[0] - rec.size / 2) < 0.03 * rec.size
        # Eyes in the upper half, inter-eye distance about a quarter of the side (the FFHQ construction).
        assert 0.3 * rec.size < mid[1] < 0.5 * rec.size
        assert 0.18 * rec.size < np.hypot(*(er - el)) < 0.3 * rec.size


def test_rotated_scaled_copy_aligns_to_the_same_place(grace):
    """A rotated, shrunk copy of the photo, found and aligned from scratch, puts the eyes where the
    original does (within 2 % of the side)."""
    h, w = grace.shape[:2]
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), 25.0, 0.7)
    canvas = cv2.warpAffine(grace, rot, (w, h), borderMode=cv2.BORDER_REFLECT_101)
    size = 256
    a = align_photo(grace, size, "orig")
    b = align_photo(canvas, size, "rotated")
    for pa, pb in zip(_eyes(a.landmarks), _eyes(b.landmarks)):
        assert np.hypot(*(pa - pb)) < 0.02 * size
    el, er = _eyes(b.landmarks)
    assert abs(math.degrees(math.atan2(er[1] - el[1], er[0] - el[0]))) < 3.0
    # The recovered transform undoes the 25-degree rotation (getRotationMatrix2D turns counter-clockwise).
    ang = lambda m: math.degrees(math.atan2(-m[0, 1], m[0, 0]))  # noqa: E731
    assert abs((ang(b.transform) - ang(a.transform)) - 25.0) < 2.0
    assert transform_scale(b.transform) / transform_scale(a.transform) == pytest.approx(1 / 0.7, rel=0.04)


def test_transform_maps_alignment_points_to_fixed_positions(demo_faces):
    rec = demo_faces["astronaut"]
    m = alignment_transform(rec.landmarks, 512)
    assert m.shape == (2, 3) and m.dtype == np.float64
    p = {k: transform_points(v[None], m)[0] for k, v in alignment_points(rec.landmarks).items()}
    # Same landmarks scaled by 2 and rotated: the same output positions.
    th = math.radians(30)
    r = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]]) * 2.0
    moved = rec.landmarks.astype(np.float64) @ r.T + [40.0, -7.0]
    m2 = alignment_transform(moved, 512)
    p2 = {k: transform_points(v[None], m2)[0] for k, v in alignment_points(moved).items()}
    for k in p:
        np.testing.assert_allclose(p[k], p2[k], atol=1e-6)


def test_invert_round_trip():
    rng = np.random.default_rng(0)
    m = np.array([[0.8, -0.3, 12.0], [0.3, 0.8, -4.0]])
    pts = rng.uniform(0, 100, (20, 2))
    back = transform_points(transform_points(pts, m), invert_transform(m))
    np.testing.assert_allclose(back, pts, atol=1e-9)


def test_identity_and_integer_shift_keep_pixels():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    out = align_image(img, np.array([[1.0, 0, 0], [0, 1.0, 0]]), (50, 40))
    assert np.array_equal(out, img)
    out = align_image(img, np.array([[1.0, 0, -5], [0, 1.0, -3]]), (45, 37))
    assert np.array_equal(out, img[3:, 5:])


def test_half_pixel_convention_scale_two():
    """Doubling size: continuous coordinates mean the output's pixel centre 1.5 samples input 0.75."""
    img = np.arange(16, dtype=np.float32).reshape(4, 4)
    out = align_image(img, np.array([[2.0, 0, 0], [0, 2.0, 0]]), 8, border="replicate")
    # Output pixel (0, 1) has centre x = 1.5 -> input x = 0.75 -> centre-convention 0.25 between px 0 and 1.
    assert out[0, 1] == pytest.approx(0.25, abs=1e-4)


def test_downscaling_is_antialiased():
    """A fine stripe pattern shrunk 6x must come out flat grey (area filter), not aliased stripes."""
    img = np.zeros((600, 600), np.uint8)
    img[:, ::2] = 255
    m = np.array([[1 / 6, 0, 0], [0, 1 / 6, 0]])
    out = align_image(img, m, 100)
    assert abs(float(out.mean()) - 127.5) < 3 and out.std() < 4
    naive = cv2.warpAffine(img, m, (100, 100), flags=cv2.INTER_LINEAR)
    assert abs(float(naive.mean()) - 127.5) > 50 or naive.std() > 50  # aliasing, for contrast


def test_align_image_mask_constant_border():
    mask = np.ones((10, 10), np.float32)
    out = align_image(mask, np.array([[1.0, 0, 5], [0, 1.0, 5]]), 20, border="constant")
    assert out[0, 0] == 0.0 and out[10, 10] == 1.0
    with pytest.raises(ValueError, match="border"):
        align_image(mask, np.eye(2, 3), 5, border="wrap")


def test_locate_face_uses_detector_on_small_face(grace):
    """A face that is small in a large frame (short-range mesh alone would miss it) is still found."""
    small = cv2.resize(grace, (grace.shape[1] // 2, grace.shape[0] // 2), interpolation=cv2.INTER_AREA)
    canvas = np.full((1200, 1600, 3), 90, np.uint8)
    canvas[700:700 + small.shape[0], 1100:1100 + small.shape[1]] = small
    pts = locate_face(canvas, "k")
    assert pts.shape == (478, 2)
    c = pts.mean(axis=0)
    assert 1100 < c[0] < 1100 + small.shape[1] and 700 < c[1] < 700 + small.shape[0]
