"""Matting of binary masks: soft edges, colours without halo, determinism."""

import cv2
import numpy as np
import pytest

from celebamat.errors import AssetError
from celebamat.occluders.matting import (BG, FG, UNKNOWN, is_binary, matte_mask, refine_alpha, soft_edge_share,
                                         trimap_from_mask)

OBJ = np.array([40, 30, 140], np.float64)  # a dark blue object
BACK = np.array([235, 220, 90], np.float64)  # on a yellow background


def soft_disc_photo(side: int = 72) -> tuple[np.ndarray, np.ndarray]:
    """A photo of a disc with a real soft edge (blurred coverage) and a binary mask of it."""
    cover = np.zeros((side * 4, side * 4), np.float32)
    cv2.circle(cover, (side * 2, side * 2), side, 1.0, -1)
    cover = cv2.GaussianBlur(cv2.resize(cover, (side, side), interpolation=cv2.INTER_AREA), (0, 0), 1.2)
    rng = np.random.default_rng(0)
    back = BACK + rng.normal(0, 6, (side, side, 3))
    img = cover[..., None] * OBJ + (1 - cover[..., None]) * back
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), cover > 0.5


def test_trimap_bands():
    m = np.zeros((40, 40), bool)
    m[10:30, 10:30] = True
    t = trimap_from_mask(m, 2, 3)
    assert t[20, 20] == FG and t[0, 0] == BG and t[10, 20] == UNKNOWN and t[8, 20] == UNKNOWN
    forced = np.zeros_like(m)
    forced[20, 20] = True
    assert trimap_from_mask(m, 2, 3, sure_bg=forced)[20, 20] == BG


def test_matte_is_soft_without_halo_and_deterministic():
    img, mask = soft_disc_photo()
    assert is_binary(mask.astype(np.uint8) * 255)
    out = matte_mask(img, mask)
    a = out.rgba[..., 3]
    assert out.rgba.shape == img.shape[:2] + (4,) and out.scale == 1.0
    assert soft_edge_share(a) > 0.4  # a real share of edge pixels strictly between 0 and 255
    assert soft_edge_share(mask.astype(np.uint8) * 255) == 0.0
    edge = (a > 40) & (a < 215)
    col = out.rgba[..., :3][edge].astype(np.float64)
    # The estimated foreground colour at the edge is the object's, not the yellow background mixed in.
    assert np.linalg.norm(col.mean(0) - OBJ) < 0.35 * np.linalg.norm(BACK - OBJ)
    assert np.array_equal(matte_mask(img, mask).rgba, out.rgba)


def test_working_size_is_bounded():
    img, mask = soft_disc_photo(96)
    out = matte_mask(img, mask, max_side=48)
    assert max(out.rgba.shape[:2]) == 48 and out.scale == pytest.approx(0.5)


def test_soft_alpha_is_kept_and_empty_mask_refused():
    img, _ = soft_disc_photo()
    soft = np.tile(np.linspace(0, 255, img.shape[1]).astype(np.uint8), (img.shape[0], 1))
    out = refine_alpha(img, soft)
    assert np.array_equal(out.rgba[..., 3], soft)
    with pytest.raises(AssetError, match="no sure foreground"):
        matte_mask(img, np.zeros(img.shape[:2], bool))
