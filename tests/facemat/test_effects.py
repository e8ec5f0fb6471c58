"""facemat.effects: effects change visible skin only, and stay behind whatever the matte marks as occluder."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from celebamat.landmarks import FACE_OVAL, LIPS_OUTER
from facemat.effects import EFFECTS, apply_effect, composite, makeup, recolor


@pytest.fixture(scope="module")
def face():
    from celebamat.landmarks import detect_landmarks

    image = skdata.astronaut()
    lm = detect_landmarks(image)
    assert lm is not None
    return image, lm


def _face_matte(image: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """A stand-in matte: the face oval, minus a square 'hand' over the mouth (an occluder)."""
    alpha = np.zeros(image.shape[:2], np.float32)
    cv2.fillPoly(alpha, [np.round(lm[list(FACE_OVAL)]).astype(np.int32)], 1.0)
    mx, my = np.round(lm[13]).astype(int)
    alpha[my - 25:my + 25, mx - 40:mx + 40] = 0.0
    return alpha


@pytest.mark.parametrize("name", sorted(EFFECTS))
def test_effect_changes_skin_and_leaves_occluders_untouched(face, name):
    image, lm = face
    alpha = _face_matte(image, lm)
    out = apply_effect(name, image, alpha, [lm])
    assert out.shape == image.shape and out.dtype == np.uint8
    occluded = alpha == 0
    assert np.array_equal(out[occluded], image[occluded])  # hand and background exactly as they were
    skin = alpha == 1
    assert np.abs(out[skin].astype(int) - image[skin]).mean() > 2.0  # the effect is visible on the skin


def test_crop_restyling_equals_full_frame_restyling(face):
    image, lm = face
    alpha = _face_matte(image, lm)
    full = composite(image, recolor(image), alpha)
    assert np.array_equal(apply_effect("recolor", image, alpha, [lm]), full)


def test_makeup_tints_lips_and_cheeks_only(face):
    image, lm = face
    out = makeup(image, [lm]).astype(int)
    lips = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(lips, [np.round(lm[list(LIPS_OUTER)]).astype(np.int32)], 1)
    lips = cv2.erode(lips, np.ones((3, 3), np.uint8)).astype(bool)
    src = image.astype(int)
    # Lipstick moves lip colour towards red: the red-minus-green difference grows.
    assert ((out[..., 0] - out[..., 1])[lips]).mean() > ((src[..., 0] - src[..., 1])[lips]).mean() + 10
    forehead = np.round(lm[151]).astype(int)
    assert np.array_equal(out[forehead[1], forehead[0]], src[forehead[1], forehead[0]])
    assert np.array_equal(makeup(image, []), image)


def test_composite_and_errors(face):
    image, lm = face
    styled = np.zeros_like(image)
    assert np.array_equal(composite(image, styled, np.zeros(image.shape[:2], np.float32)), image)
    assert np.array_equal(composite(image, styled, np.ones(image.shape[:2], np.float32)), styled)
    half = composite(image, styled, np.full(image.shape[:2], 0.5, np.float32))
    assert np.abs(half.astype(int) - image.astype(int) // 2).max() <= 1
    assert np.array_equal(apply_effect("cartoon", image, np.zeros(image.shape[:2], np.float32)), image)
    with pytest.raises(ValueError, match="unknown effect"):
        apply_effect("sparkle", image, np.ones(image.shape[:2], np.float32))
    with pytest.raises(ValueError, match="does not match"):
        apply_effect("recolor", image, np.ones((10, 10), np.float32))
