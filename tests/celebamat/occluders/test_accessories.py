"""Held accessories (celebamat.occluders.generators.accessories): microphones and cups."""

from __future__ import annotations

import numpy as np
import pytest

from celebamat.occluders.generators.accessories import generate


def _opaque_columns(rgba: np.ndarray, row: int) -> np.ndarray:
    return np.nonzero(rgba[row, :, 3] > 200)[0]


@pytest.mark.parametrize("index", [0, 1])
def test_microphone_grille_at_the_anchor_and_a_stand_or_cable_out_of_the_frame(index):
    meta, rgba = generate(np.random.default_rng(index), index, "microphone")
    a = rgba[..., 3]
    hx, hy = (int(round(v)) for v in meta["anchors"]["head"])
    assert a[hy, hx] == 255 and a[0].max() == 0 and a[-1].max() == 255
    assert meta["tags"]["mount"] == ("stand" if index % 2 == 0 else "cable")
    # Below the handle only the rod or the cable goes on: much narrower than the handle.
    handle = _opaque_columns(rgba, int(hy + 0.35 * (a.shape[0] - hy)))
    below = _opaque_columns(rgba, a.shape[0] - 2)
    assert 0 < below.size < 0.5 * handle.size
    # The grille is a mesh: bright wires and dark holes.
    lum = rgba[hy - 10:hy + 10, hx - 10:hx + 10, :3].mean(-1)
    assert lum.min() < 60 and lum.max() > 120


@pytest.mark.parametrize("index, style", [(0, "takeaway"), (1, "mug"), (2, "paper")])
def test_cups_of_three_styles_with_the_rim_at_the_anchor(index, style):
    meta, rgba = generate(np.random.default_rng(index), index, "cup")
    a = rgba[..., 3]
    assert meta["tags"]["style"] == style
    rx, ry = (int(round(v)) for v in meta["anchors"]["rim"])
    assert a[ry + 2, rx] == 255
    assert not (a[0].any() or a[-1].any() or a[:, 0].any() or a[:, -1].any())  # held: no exit edge
    mid = int(0.55 * a.shape[0])
    cols = _opaque_columns(rgba, mid)
    if style == "mug":
        # The handle: a second opaque run beside the body on the same row.
        assert (np.diff(cols) > 1).any()
    else:
        assert (np.diff(cols) == 1).all()
    if style == "takeaway":
        # The lid stands above the rim anchor and is wider than the cup there.
        lid = _opaque_columns(rgba, ry + 1)
        body = _opaque_columns(rgba, ry + 20)
        assert a[ry - 8, rx] == 255 and lid.size > body.size


def _placed(meta: dict, px: float) -> tuple[float, float]:
    """``px`` asset pixels as a fraction of the scale's face measure, at both ends of its range."""
    lo, hi = meta["scale"]["range"]
    return px / meta["scale"]["length"] * lo, px / meta["scale"]["length"] * hi


@pytest.mark.parametrize("index", [0, 1, 2])
def test_held_objects_are_scaled_to_their_real_size_against_the_face(index):
    """A face is about 15 cm wide at the ears and 17 cm from forehead top to chin: a microphone's grille is
    4-5 cm across, a phone 13-16 cm long, a cup 8-9 cm across (sizes of the issue on realistic occluders)."""
    meta, rgba = generate(np.random.default_rng(index), index, "microphone")
    hy = int(round(meta["anchors"]["head"][1]))
    lo, hi = _placed(meta, _opaque_columns(rgba, hy).size)
    assert meta["scale"]["measure"] == "face_height" and 0.2 <= lo and hi <= 0.33
    meta, rgba = generate(np.random.default_rng(index), index, "phone")
    rows = np.nonzero(rgba[..., 3].max(axis=1) > 200)[0]
    lo, hi = _placed(meta, rows[-1] - rows[0] + 1)
    assert meta["scale"]["measure"] == "face_height" and 0.65 <= lo and hi <= 0.95
    meta, rgba = generate(np.random.default_rng(index), index, "cup")
    a = rgba[..., 3] > 200
    mid = int(round(meta["anchors"]["rim"][1] + 0.5 * (a.shape[0] - meta["anchors"]["rim"][1])))
    cols = np.nonzero(a[mid])[0]
    if meta["tags"]["style"] == "mug":  # the handle is to the right of the body: measure the body's run only
        cols = cols[: np.argmax(np.diff(cols) > 1) + 1] if (np.diff(cols) > 1).any() else cols
    lo, hi = _placed(meta, cols.size)
    assert meta["scale"]["measure"] == "face_width" and 0.4 <= lo and hi <= 0.7
