"""Face finding under occlusion: YuNet, the merged detectors, keypoint faces, the scan's cascade.

The occluded photos are made here: the embedded demo face (scikit-image's astronaut) with bundled hand assets
pasted over its mouth or both eyes, as a hand over a face hides it from BlazeFace and the face mesh.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hand_photos import paste_hand
from skimage import data as skdata

from celebamat.faces.detect import (
    KEYPOINT_MESH_INDEX,
    FaceBox,
    YuNet,
    box_overlap,
    get_yunet,
    landmarks_from_keypoints,
    merge_boxes,
    mesh_template,
)
from celebamat.faces.finder import BORDER_RETRIES, FaceFinder
from celebamat.faces.photo import locate_face


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skdata.astronaut()


@pytest.fixture(scope="module")
def clean_landmarks(astronaut) -> np.ndarray:
    return FaceFinder().find(astronaut)[0]


def _paste_hand(image: np.ndarray, asset: str, center: np.ndarray, width: float) -> np.ndarray:
    return paste_hand(image, asset, center, width)[0]


def _iod(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[468] - lm[473]))


@pytest.fixture(scope="module")
def hand_over_mouth(astronaut, clean_landmarks) -> np.ndarray:
    lm = clean_landmarks
    mouth = (lm[61] + lm[291]) / 2 + (0, 0.5 * _iod(lm))
    # A bare light hand seen from the back (no sleeve: a cuff pasted over the chin is not what this tests).
    return _paste_hand(astronaut, "hand-cover_mouth-006", mouth, 3.0 * _iod(lm))


@pytest.fixture(scope="module")
def hands_over_eyes(astronaut, clean_landmarks) -> np.ndarray:
    lm = clean_landmarks
    out = _paste_hand(astronaut, "hand-over_eyes-000", lm[468] + (0, 0.3 * _iod(lm)), 2.0 * _iod(lm))
    return _paste_hand(out, "hand-over_eyes-001", lm[473] + (0, 0.3 * _iod(lm)), 2.0 * _iod(lm))


def test_yunet_finds_the_demo_face_with_keypoints_on_its_mesh(astronaut, clean_landmarks):
    boxes = get_yunet().detect(astronaut)
    assert len(boxes) == 1 and boxes[0].detector == "yunet" and boxes[0].score > 0.8
    kps = boxes[0].keypoints
    assert kps.shape == (5, 2)
    err = np.linalg.norm(kps - clean_landmarks[list(KEYPOINT_MESH_INDEX)], axis=1)
    assert err.max() < 0.2 * _iod(clean_landmarks), err
    # The box holds the keypoints.
    b = boxes[0]
    assert (kps[:, 0] > b.x0).all() and (kps[:, 0] < b.x1).all() and (kps[:, 1] > b.y0).all() and (kps[:, 1] < b.y1).all()


def test_yunet_finds_nothing_in_noise_and_checks_its_arguments(tmp_path):
    noise = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    assert get_yunet().detect(noise) == []
    with pytest.raises(FileNotFoundError, match="YuNet model not found"):
        YuNet(tmp_path / "missing.onnx")
    with pytest.raises(ValueError, match="min_score"):
        YuNet(min_score=1.5)
    with pytest.raises(ValueError, match="side"):
        YuNet(side=16)


def test_merge_boxes_keeps_one_box_per_face_preferring_the_first_detector():
    kps = np.zeros((5, 2), np.float32)
    yunet = [FaceBox(10, 10, 110, 110, 0.7, kps, "yunet"), FaceBox(300, 10, 360, 70, 0.9, kps, "yunet")]
    blaze = [FaceBox(15, 12, 112, 108, 0.95), FaceBox(500, 500, 540, 540, 0.8)]
    merged = merge_boxes(yunet, blaze)
    assert len(merged) == 3
    assert merged[0].detector == "yunet" and merged[0].score == 0.95  # the same face: YuNet's box, best score
    assert [b.detector for b in merged[1:]] == ["yunet", "blazeface"]
    assert [b.area for b in merged] == sorted((b.area for b in merged), reverse=True)
    assert box_overlap((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(0.5)
    assert box_overlap((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0


def test_landmarks_from_keypoints_follow_a_similarity_exactly():
    tpl = mesh_template()
    assert tpl.shape == (478, 2)
    angle, scale, shift = np.deg2rad(12.0), 0.7, np.array([31.0, -8.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    expected = tpl @ rot.T + shift
    out = landmarks_from_keypoints(expected[list(KEYPOINT_MESH_INDEX)])
    assert out.shape == (478, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, atol=1e-3)
    with pytest.raises(ValueError, match=r"\(5, 2\)"):
        landmarks_from_keypoints(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="finite"):
        landmarks_from_keypoints(np.full((5, 2), np.nan))


def test_a_face_behind_a_hand_over_the_mouth_is_found(hand_over_mouth, clean_landmarks):
    finder = FaceFinder()
    faces = finder.find_faces(hand_over_mouth)
    assert len(faces) == 1 and faces[0].detector == "yunet"
    near = 0.3 * _iod(clean_landmarks)
    assert np.linalg.norm(faces[0].landmarks.mean(axis=0) - clean_landmarks.mean(axis=0)) < near
    # The face sources' scan finds it too (its cascade ends with YuNet).
    pts = locate_face(hand_over_mouth, "hand-over-mouth")
    assert np.linalg.norm(pts.mean(axis=0) - clean_landmarks.mean(axis=0)) < near


def test_a_face_behind_hands_over_both_eyes_is_framed_from_keypoints(hands_over_eyes, clean_landmarks):
    faces = FaceFinder().find_faces(hands_over_eyes)
    assert len(faces) == 1 and faces[0].detector == "yunet"
    assert faces[0].found_by in ("mesh", "keypoints")
    lm, ref = faces[0].landmarks, clean_landmarks
    # With both eyes covered YuNet guesses where they are: the face lands within about a third of an inter-ocular
    # distance of the clean one (0.29 with these two bundled hands; 0.31 with the same hands in a library tried).
    assert np.linalg.norm(lm.mean(axis=0) - ref.mean(axis=0)) < 0.4 * _iod(ref)
    assert abs(np.ptp(lm[:, 0]) / np.ptp(ref[:, 0]) - 1) < 0.25  # about the right size
    # Without keypoint faces the finder gives nothing where the mesh cannot fit.
    if faces[0].found_by == "keypoints":
        assert FaceFinder(keypoint_faces=False).find(hands_over_eyes) == []


def test_no_false_face_on_a_clean_photo_with_a_hand_beside_it(astronaut):
    # A hand alone on the background (beside the face) is not a second face.
    photo = _paste_hand(astronaut, "hand-on_cheek-000", np.array([420.0, 300.0]), 150.0)
    assert len(FaceFinder().find(photo)) == 1


def test_a_face_that_fills_a_tight_crop_is_found_inside_a_border(astronaut, clean_landmarks):
    # A crop from the brows to the chin, narrower than the cheeks, enlarged 4x: a masked-face photo's framing,
    # a face larger than the detectors look for.
    lm = clean_landmarks
    (x0, y0), (x1, y1) = lm.min(axis=0), lm.max(axis=0)
    w, h = x1 - x0, y1 - y0
    cx0, cy0 = int(x0 + 0.2 * w), int(y0 + 0.25 * h)
    crop = np.ascontiguousarray(astronaut[cy0 : int(y1 - 0.05 * h), cx0 : int(x1 - 0.2 * w)])
    photo = cv2.resize(crop, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    finder = FaceFinder()
    assert finder.find_faces(photo, border_retries=()) == []
    faces = finder.find_faces(photo)
    assert len(faces) == 1 and faces[0].border == BORDER_RETRIES[0] and faces[0].found_by == "mesh"
    assert faces[0].summary()["border"] == BORDER_RETRIES[0]
    # In the photo's own pixels, on the face: within a tenth of an inter-ocular distance of the uncropped mesh.
    expected = (lm - (cx0, cy0)) * 4
    assert np.abs(faces[0].landmarks - expected).mean() < 0.1 * _iod(expected)
    # Video frames get no retries (each faceless frame would pay for them).
    assert FaceFinder().track_faces(photo) == []


def test_no_face_is_found_in_noise_with_or_without_a_border():
    noise = np.random.default_rng(0).integers(0, 256, (300, 240, 3), dtype=np.uint8)
    finder = FaceFinder()
    assert finder.find_faces(noise) == [] and finder.find_faces(noise, border_retries=(0.25, 0.5, 1.0)) == []
