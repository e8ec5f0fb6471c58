"""Bundled hair curtains (celebamat.occluders.generators.hair): long hair past one side of the face."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from celebamat.landmarks import face_anchors, face_frame
from celebamat.occluders import load_library
from celebamat.synth.placement import apply, place_asset


@pytest.fixture(scope="module")
def curtains():
    lib = load_library(None)
    found = [a for a in lib.assets if a.kind == "hair" and a.subtype == "curtain"]
    assert len(found) == 12 and {a.split for a in found} == {"train", "test"}
    return found


def test_curtain_is_a_dense_sheet_whose_inner_edge_lies_inside_the_face_outline(curtains):
    for a in curtains:
        alpha = a.rgba()[..., 3]
        assert a.targets == {"temple": "temple_left", "jaw": "jaw_left"} and a.exit_edge is None
        assert alpha[0].max() == 0  # fades in from the top: merges into the person's hair
        (tx, ty), (jx, jy) = a.anchors["temple"], a.anchors["jaw"]
        row = alpha[int(round(0.5 * (ty + jy)))]
        solid = np.nonzero(row >= 250)[0]
        # Opaque across a good part of the canvas at the cheek (strands hide the skin under them) ...
        assert solid.size > 0.2 * alpha.shape[1], (a.id, solid.size)
        # ... up to the face's outline (the temple-jaw line) or beyond it, onto the cheek.
        assert solid.max() >= 0.5 * (tx + jx) - 2, (a.id, solid.max(), tx, jx)
        # Not a block: the tips at the bottom thin out.
        assert (alpha[int(0.97 * alpha.shape[0]):] >= 250).mean() < 0.5 * (row >= 250).mean()


@pytest.mark.parametrize("mirrored", [False, True])
def test_curtain_covers_its_side_of_the_face_and_leaves_the_other(curtains, synth_faces, mirrored):
    a = curtains[0]
    alpha = a.rgba()[..., 3].astype(np.float64) / 255.0
    for face in synth_faces:
        anchors, frame = face_anchors(face.landmarks), face_frame(face.landmarks)
        m = place_asset(np.random.default_rng(3), a, anchors, frame, mirrored=mirrored, jitter=0.0)
        side = "right" if mirrored else "left"
        other = "left" if mirrored else "right"
        temple, jaw = apply(m, np.array([a.anchors["temple"], a.anchors["jaw"]]))
        # On the face's own temple and jaw, give or take the +-4 degree and +-5 % jitter about their middle.
        for got, want in ((temple, anchors[f"temple_{side}"]), (jaw, anchors[f"jaw_{side}"])):
            assert np.linalg.norm(got - want) < 0.1 * frame.face_height
        size = face.image.shape[1], face.image.shape[0]
        warped = cv2.warpAffine(alpha, m, size, flags=cv2.INTER_LINEAR)

        def at(name: str) -> float:
            x, y = np.round(anchors[name]).astype(int)
            return float(warped[y, x])

        assert at(f"ear_{side}") > 0.9 and at(f"ear_{other}") == 0.0
        assert at(f"cheek_{other}") == 0.0 and at("nose_tip") == 0.0


def test_canvas_over_pixels_is_over_at_those_pixels():
    """Strands composite only the pixels they touch (Canvas.over_pixels); it must give Canvas.over's bytes."""
    from celebamat.occluders.draw import Canvas

    rng = np.random.default_rng(0)
    ref, got = Canvas(16, 12, 2), Canvas(16, 12, 2)
    under = rng.uniform(0, 1, (24, 32)) * (rng.random((24, 32)) < 0.5)
    for cv in (ref, got):
        cv.over(np.array([0.2, 0.4, 0.6]), under)
    layer = rng.uniform(0, 1, (10, 14)) * (rng.random((10, 14)) < 0.3)
    colour = np.array([0.9, 0.1, 0.3])
    ref.over(colour, layer, 5, 7)
    ys, xs = np.nonzero(layer)
    got.over_pixels(colour, layer[ys, xs], ys + 5, xs + 7)
    assert np.array_equal(ref.rgb, got.rgb) and np.array_equal(ref.a, got.a)
    assert not np.array_equal(ref.a, Canvas(16, 12, 2).a)
