"""celebamat.hands and the hand landmarker: masks from 21 landmarks, hands found on photos the tests make."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from celebamat.hands import HAND_BONES, PALM, hand_mask, palm_width
from celebamat.landmarks import get_landmarker

BUNDLED = Path(__file__).resolve().parents[2] / "assets" / "occluders"


def _open_hand(cx: float = 100.0, cy: float = 140.0, s: float = 1.0) -> np.ndarray:
    """A flat, upright right hand: wrist at the bottom, fingers up (21 mediapipe points)."""
    pts = [(0, 40)]  # wrist
    pts += [(-18, 30), (-28, 15), (-34, 2), (-38, -10)]  # thumb
    for x in (-12, 0, 12, 22):  # index, middle, ring, little: knuckle, then three joints upwards
        pts += [(x, 0), (x, -18), (x, -32), (x, -44)]
    return np.array([(cx + s * x, cy + s * y) for x, y in pts], np.float32)


def test_hand_mask_covers_bones_and_palm_and_nothing_far_away():
    hand = _open_hand()
    m = hand_mask([hand], (240, 200), forearm_length=0.0, feather=0.0)
    assert m.shape == (240, 200) and m.dtype == np.float32 and m.max() == 1.0
    for a, b in HAND_BONES:  # the middle of every bone is on the hand
        x, y = ((hand[a] + hand[b]) / 2).round().astype(int)
        assert m[y, x] == 1.0, (a, b)
    x, y = hand[list(PALM)].mean(axis=0).round().astype(int)
    assert m[y, x] == 1.0
    assert m[:60].max() == 0 and m[200:].max() == 0  # above the fingertips, below the wrist: nothing
    assert palm_width(hand) == pytest.approx(34.0)


def test_forearm_runs_from_the_wrist_away_from_the_fingers():
    hand = _open_hand()
    with_arm = hand_mask([hand], (300, 200), forearm_length=3.0, feather=0.0)
    assert with_arm[240, 100] == 1.0 and with_arm[40, 100] == 0.0  # down from the wrist, not above the fingers
    assert hand_mask([hand], (300, 200), forearm_length=0.0, feather=0.0)[240, 100] == 0.0


def test_hand_mask_feathers_edges_and_merges_hands():
    a, b = _open_hand(60, 140, 0.8), _open_hand(150, 140, 0.8)
    soft = hand_mask([a, b], (240, 220))
    assert ((soft > 0) & (soft < 1)).any()
    assert soft[int(a[9, 1]), int(a[9, 0])] > 0.9 and soft[int(b[9, 1]), int(b[9, 0])] > 0.9
    assert hand_mask([], (10, 12)).shape == (10, 12) and not hand_mask([], (10, 12)).any()
    with pytest.raises(ValueError, match=r"\(21, 2\)"):
        hand_mask([np.zeros((20, 2))], (10, 10))


def test_the_hand_landmarker_finds_a_bundled_hand_on_a_plain_background():
    rgba = np.asarray(Image.open(BUNDLED / "hand-on_cheek-000.png").convert("RGBA")).astype(np.float32)
    s = 300 / max(rgba.shape[:2])
    rgba = cv2.resize(rgba, (round(rgba.shape[1] * s), round(rgba.shape[0] * s)), interpolation=cv2.INTER_AREA)
    photo = np.full((400, 400, 3), 200.0, np.float32)
    y0, x0 = (400 - rgba.shape[0]) // 2, (400 - rgba.shape[1]) // 2
    a = rgba[..., 3:] / 255.0
    region = photo[y0:y0 + rgba.shape[0], x0:x0 + rgba.shape[1]]
    region[:] = region * (1 - a) + rgba[..., :3] * a
    hands = get_landmarker().hands(photo.astype(np.uint8))
    assert len(hands) == 1 and hands[0].shape == (21, 2) and hands[0].dtype == np.float32
    inside = np.zeros((400, 400), bool)
    inside[y0:y0 + rgba.shape[0], x0:x0 + rgba.shape[1]] = a[..., 0] > 0.5
    pts = hands[0].round().astype(int)
    assert inside[pts[:, 1].clip(0, 399), pts[:, 0].clip(0, 399)].mean() > 0.8  # the landmarks lie on the hand
    assert get_landmarker().hands(np.full((200, 200, 3), 128, np.uint8)) == []


def test_the_borders_the_landmarker_looks_through_leave_the_landmarks_where_they_were(monkeypatch):
    import celebamat.landmarks as landmarks

    rgba = np.asarray(Image.open(BUNDLED / "hand-cover_mouth-001.png").convert("RGBA")).astype(np.float32)
    s = 260 / max(rgba.shape[:2])
    rgba = cv2.resize(rgba, (round(rgba.shape[1] * s), round(rgba.shape[0] * s)), interpolation=cv2.INTER_AREA)
    photo = np.full((300, 360, 3), 190.0, np.float32)
    a = rgba[..., 3:] / 255.0
    region = photo[20:20 + rgba.shape[0], 60:60 + rgba.shape[1]]
    region[:] = region * (1 - a) + rgba[..., :3] * a
    photo = photo.astype(np.uint8)
    pads = landmarks.HAND_PADS
    assert len(pads) == 2 and min(pads) > 0
    both = get_landmarker().hands(photo)
    monkeypatch.setattr(landmarks, "HAND_PADS", (0.0,))
    plain = get_landmarker().hands(photo)
    # one hand, seen in both borders, is returned once
    assert len(both) == len(plain) == 1
    # the same hand, in the picture's own pixels: the border is taken off again
    assert np.abs(both[0] - plain[0]).mean() < 4.0
    for share in pads:
        monkeypatch.setattr(landmarks, "HAND_PADS", (share,))
        (one,) = get_landmarker().hands(photo)
        assert np.abs(one - plain[0]).mean() < 4.0


def test_same_hand_tells_one_hand_seen_twice_from_two_hands():
    from celebamat.landmarks import same_hand

    rng = np.random.default_rng(0)
    hand = rng.uniform(0, 100, (21, 2)).astype(np.float32)
    hand[0], hand[9] = (50, 100), (50, 40)  # palm length 60 px
    assert same_hand(hand, hand + rng.normal(0, 3, hand.shape).astype(np.float32))
    assert not same_hand(hand, hand + np.float32([80, 0]))  # the other hand, beside it
    assert same_hand(hand, hand + np.float32([15, 0])) and not same_hand(hand, hand + np.float32([25, 0]))

