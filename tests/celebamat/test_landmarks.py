import math

import numpy as np
import pytest

from celebamat.faces import open_source
from celebamat.landmarks import ANCHOR_NAMES, detect_landmarks, face_anchors, face_frame, get_landmarker


@pytest.fixture(scope="module")
def faces():
    src = open_source("demo", size=256)
    return [src.load(k) for k in ("demo:astronaut-m0", "demo:grace_hopper-m1", "demo:astronaut-m3")]


def test_anchor_geometry(faces):
    for rec in faces:
        a = face_anchors(rec.landmarks)
        assert set(a) == set(ANCHOR_NAMES)
        assert a["eye_left"][0] < a["eye_right"][0]
        assert a["brow_left"][0] < a["brow_right"][0] and a["mouth_left"][0] < a["mouth_right"][0]
        assert a["ear_left"][0] < a["eye_left"][0] and a["eye_right"][0] < a["ear_right"][0]
        # y grows downwards: hairline, forehead, brows, eyes, nose, mouth, chin.
        assert a["hairline"][1] < a["forehead"][1] < a["brow_left"][1] < a["eye_left"][1]
        assert a["nose_bridge"][1] < a["nose_tip"][1] and a["eyes_center"][1] < a["nose_tip"][1]
        assert a["nose_tip"][1] < a["mouth_center"][1] < a["chin"][1]  # mouth below nose
        assert a["lip_top"][1] < a["mouth_center"][1] < a["lip_bottom"][1]
        assert np.all((a["face_center"] > 0) & (a["face_center"] < rec.size))


def test_face_frame(faces):
    rec = faces[2]  # the rolled variant: -6 degrees requested on an otherwise upright alignment
    f = face_frame(rec.landmarks)
    assert 0.15 * rec.size < f.iod < 0.35 * rec.size
    assert f.face_width > f.iod and f.face_height > f.iod
    assert abs(math.degrees(f.roll)) > 3.0
    assert np.dot(f.right, f.down) == pytest.approx(0.0, abs=1e-9)
    assert f.measure("iod") == f.iod
    with pytest.raises(ValueError, match="unknown face measure"):
        f.measure("nose")
    with pytest.raises(ValueError, match="shape"):
        face_frame(np.zeros((10, 2)))


def test_mesh_detect_and_person_mask(faces):
    rec = faces[0]
    lm = get_landmarker()
    assert lm is get_landmarker()
    pts = detect_landmarks(rec.image)
    assert pts is not None and pts.shape == (478, 2)
    np.testing.assert_allclose(pts, rec.landmarks, atol=0.02 * rec.size)
    boxes = lm.detect(rec.image)
    assert len(boxes) == 1 and boxes[0][0] < pts[:, 0].mean() < boxes[0][2]
    person = lm.person_mask(rec.image)
    assert person.shape == rec.image.shape[:2] and 0.0 <= person.min() and person.max() <= 1.0
    c = face_anchors(pts)["nose_tip"].astype(int)
    assert person[c[1], c[0]] > 0.5
    assert detect_landmarks(np.full((200, 200, 3), 128, np.uint8)) is None
