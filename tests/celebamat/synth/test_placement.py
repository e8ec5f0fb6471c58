import math
from dataclasses import replace

import numpy as np
import pytest

from celebamat.landmarks import face_anchors, face_frame
from celebamat.synth.placement import apply, mirrored_geometry, place_asset, similarity_fit, similarity_matrix


def test_similarity_fit_recovers_a_known_transform():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 100, size=(5, 2))
    m = similarity_matrix(1.7, 0.4, np.array([12.0, -3.0]))
    scale, angle, t = similarity_fit(src, apply(m, src))
    assert scale == pytest.approx(1.7)
    assert angle == pytest.approx(0.4)
    np.testing.assert_allclose(t, [12.0, -3.0], atol=1e-9)


def test_similarity_fit_rejects_degenerate_points():
    with pytest.raises(ValueError, match="coincide"):
        similarity_fit(np.ones((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="N>=2"):
        similarity_fit(np.ones((1, 2)), np.zeros((1, 2)))


def test_mirrored_geometry_swaps_sides():
    a, t, e = mirrored_geometry({"lens_left": (10, 5)}, {"lens_left": "eye_left", "w": "exit_left"}, 100, "left")
    assert a == {"lens_left": (90.0, 5.0)}
    assert t == {"lens_left": "eye_right", "w": "exit_right"}
    assert e == "right"


@pytest.mark.parametrize("mirrored", [False, True])
def test_glasses_lenses_land_on_the_eyes(synth_faces, tiny_library, mirrored):
    glasses = tiny_library.get("glasses-train")
    for face in synth_faces:
        anchors, frame = face_anchors(face.landmarks), face_frame(face.landmarks)
        for i in range(20):
            m = place_asset(np.random.default_rng(i), glasses, anchors, frame, mirrored=mirrored, jitter=0.0)
            lenses = apply(m, np.array([glasses.anchors["lens_left"], glasses.anchors["lens_right"]]))
            # A mirrored asset's left lens is the image-right one.
            eyes = np.array([anchors["eye_left"], anchors["eye_right"]])
            if mirrored:
                eyes = eyes[::-1]
            err = np.linalg.norm(lenses - eyes, axis=1).max()
            assert err < 0.1 * frame.iod, (face.face_id, i, err, frame.iod)
            assert (np.linalg.det(m[:, :2]) < 0) == mirrored


def test_hand_palm_on_mouth_and_forearm_leaves_downwards(synth_faces, tiny_library):
    arm = tiny_library.get("arm-train")
    for face in synth_faces:
        anchors, frame = face_anchors(face.landmarks), face_frame(face.landmarks)
        for i in range(20):
            m = place_asset(np.random.default_rng(i), arm, anchors, frame, jitter=0.0)
            palm, wrist = apply(m, np.array([arm.anchors["palm"], arm.anchors["wrist"]]))
            assert np.linalg.norm(palm - anchors["mouth_center"]) < 1e-6
            direction = (wrist - palm) / np.linalg.norm(wrist - palm)
            # within the asset's +-15 degree rotation jitter of the face's down direction
            assert float(direction @ frame.down) > math.cos(math.radians(15.5))


@pytest.mark.parametrize("target", ["cheek_left", "cheek_right"])
def test_arm_down_and_to_the_side_leaves_on_the_cheeks_side(synth_faces, tiny_library, target):
    arm = replace(tiny_library.get("arm-train"), targets={"palm": target, "wrist": "exit_down_side"})
    for face in synth_faces:
        anchors, frame = face_anchors(face.landmarks), face_frame(face.landmarks)
        side = math.copysign(1.0, float((anchors[target] - frame.center) @ frame.right))
        for i in range(10):
            m = place_asset(np.random.default_rng(i), arm, anchors, frame, jitter=0.0)
            palm, wrist = apply(m, np.array([arm.anchors["palm"], arm.anchors["wrist"]]))
            assert np.linalg.norm(palm - anchors[target]) < 1e-6
            d = (wrist - palm) / np.linalg.norm(wrist - palm)
            # 45 degrees between down and the cheek's side, give or take the +-15 degree rotation jitter
            angle = math.degrees(math.atan2(side * float(d @ frame.right), float(d @ frame.down)))
            assert 45 - 15.5 < angle < 45 + 15.5, (face.face_id, target, i, angle)


def test_zone_placement_stays_near_its_zone(synth_faces, tiny_library):
    blob = tiny_library.get("blob-train")
    face = synth_faces[0]
    anchors, frame = face_anchors(face.landmarks), face_frame(face.landmarks)
    for i in range(30):
        m = place_asset(np.random.default_rng(i), blob, anchors, frame, jitter=0.0)
        centre = apply(m, np.array([blob.anchors["center"]]))[0]
        d = min(np.linalg.norm(centre - anchors[z]) for z in ("mouth_center", "cheek_left"))
        assert d <= 0.25 * math.sqrt(2) * frame.iod + 1e-6
