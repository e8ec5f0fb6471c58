import numpy as np
import pytest

from celebamat.faces.skin import (
    CELEBAMASK_PARTS,
    DEFAULT_SKIN_PARTS,
    face_regions,
    labels_to_mask,
    landmark_skin,
    occluded_fraction,
    paint_parts,
    resolve_parts,
)
from celebamat.landmarks import face_anchors


def _rect(shape, y0, y1, x0, x1):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def test_painting_order_later_parts_cover_earlier():
    shape = (20, 20)
    masks = {
        "skin": _rect(shape, 2, 18, 2, 18),
        "hair": _rect(shape, 0, 6, 0, 20),       # fringe over the forehead
        "eye_g": _rect(shape, 8, 11, 3, 17),     # glasses across both eyes
        "l_eye": _rect(shape, 9, 10, 5, 7),      # eyes are painted after eye_g: they stay visible
        "hat": _rect(shape, 0, 3, 0, 20),
    }
    labels = paint_parts(masks)
    skin = labels_to_mask(labels, DEFAULT_SKIN_PARTS)
    assert not skin[4, 10]                      # hair over skin
    assert not skin[8, 12]                      # lens over skin
    assert skin[9, 5]                           # eye over lens
    assert skin[14, 10]                         # plain skin
    assert labels[1, 10] == CELEBAMASK_PARTS.index("hat") + 1
    assert not skin[0, 0] and labels[19, 19] == 0


def test_skin_parts_groups_and_errors():
    assert resolve_parts(["skin", "eyes", "lips"]) == ("skin", "l_eye", "r_eye", "u_lip", "l_lip")
    with pytest.raises(ValueError, match="beard"):
        resolve_parts(["skin", "beard"])
    labels = paint_parts({"skin": _rect((6, 6), 0, 6, 0, 6), "nose": _rect((6, 6), 2, 4, 2, 4)})
    assert labels_to_mask(labels, ["skin"]).sum() == 32
    assert labels_to_mask(labels, ["skin", "nose"]).sum() == 36
    with pytest.raises(ValueError, match="unknown CelebAMask-HQ parts"):
        paint_parts({"face": np.ones((3, 3), bool)})
    with pytest.raises(ValueError, match="shape"):
        paint_parts({"skin": np.ones((3, 3), bool), "nose": np.ones((4, 4), bool)})


def test_occluded_fraction():
    shape = (40, 40)
    skin = _rect(shape, 10, 30, 10, 30)
    assert occluded_fraction(paint_parts({"skin": skin})) == 0.0
    lens = _rect(shape, 10, 15, 10, 30)  # a quarter of the face
    frac = occluded_fraction(paint_parts({"skin": skin, "eye_g": lens}), face=skin)
    assert frac == pytest.approx(0.25, abs=0.03)
    hat_above = _rect(shape, 0, 10, 0, 40)  # entirely above the face: not occluding
    assert occluded_fraction(paint_parts({"skin": skin, "hat": hat_above}), face=skin) == 0.0
    # Without the raw skin mask only the visible skin's hull counts: a lens over its top edge is outside it.
    inner = _rect(shape, 14, 20, 14, 20)
    assert occluded_fraction(paint_parts({"skin": skin, "eye_g": inner})) == pytest.approx(36 / 400, abs=0.02)


def test_landmark_skin_follows_the_face(demo_faces):
    rec = demo_faces["astronaut"]
    s = landmark_skin(rec.image, rec.landmarks)
    assert s.shape == rec.image.shape[:2] and s.dtype == np.float32
    assert 0.0 <= s.min() and s.max() <= 1.0
    a = face_anchors(rec.landmarks)
    at = lambda name: s[int(a[name][1]), int(a[name][0])]  # noqa: E731
    for name in ("cheek_left", "cheek_right", "nose_tip", "mouth_center", "eye_left"):
        assert at(name) > 0.9, name
    assert at("chin") == pytest.approx(0.5, abs=0.3)  # the chin point lies on the oval's soft edge
    above_chin = (a["chin"] + a["lip_bottom"]) / 2
    assert s[int(above_chin[1]), int(above_chin[0])] > 0.9
    assert s[:10, :10].max() == 0.0                      # background corner
    assert at("hairline") < 0.1                           # hair above the forehead
    # Kept regions: eyes and lips are skin even though their colour differs.
    reg = face_regions(rec.landmarks, s.shape)
    assert s[reg["eyes"] > 0.99].mean() > 0.95 and s[reg["lips"] > 0.99].mean() > 0.95


def test_colour_refinement_removes_a_dark_fringe(demo_faces):
    """Paint near-black hair over the upper forehead inside the oval: the refined matte excludes it,
    the plain oval does not."""
    rec = demo_faces["grace_hopper"]
    img = rec.image.copy()
    a = face_anchors(rec.landmarks)
    fy = int(a["forehead"][1])
    fx = int(a["forehead"][0])
    img[fy - 6: fy + 6, fx - 30: fx + 30] = (28, 22, 18)
    refined = landmark_skin(img, rec.landmarks)
    plain = landmark_skin(img, rec.landmarks, refine=False)
    assert plain[fy, fx] > 0.9
    assert refined[fy, fx] < 0.1
    assert refined[int(a["cheek_left"][1]), int(a["cheek_left"][0])] > 0.9


def test_person_mask_cuts_the_matte(demo_faces):
    rec = demo_faces["astronaut"]
    person = np.ones(rec.image.shape[:2], np.float32)
    person[:, : rec.size // 2] = 0.0
    s = landmark_skin(rec.image, rec.landmarks, person)
    assert s[:, : rec.size // 2].max() == 0.0 and s[:, rec.size // 2:].max() > 0.9
