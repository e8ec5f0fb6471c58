"""The committed library (assets/occluders): counts, soft alpha, metadata, split, exit edges, size, and
byte-for-byte regeneration from the recorded seed."""

import re
from pathlib import Path

import numpy as np
import pytest

from celebamat.landmarks import EXIT_DIRECTIONS
from celebamat.occluders import DEFAULT_SEED, bundled_library_dir, load_library, plan_library, render_entry, write_asset

MINIMUM = {"hand": 60, "hair": 60, "accessory": 80, "translucent": 40, "texture": 40}


@pytest.fixture(scope="module")
def lib():
    return load_library(None)


def test_counts_split_and_metadata(lib):
    assert lib.skipped == []
    counts = lib.counts()
    for kind, n in MINIMUM.items():
        c = counts[kind]
        assert c["train"] + c["test"] >= n, kind
        assert 0.12 <= c["test"] / (c["train"] + c["test"]) <= 0.28, kind
    assert len(lib.assets) == len(plan_library())
    for a in lib.assets:
        assert str(DEFAULT_SEED) in a.source and a.license == "CC0-1.0"


def test_library_size_budget():
    total = sum(p.stat().st_size for p in bundled_library_dir().iterdir() if p.is_file())
    assert total < 40e6, total


def test_every_asset_has_soft_edges(lib):
    for a in lib.assets:
        alpha = a.rgba()[..., 3]
        inside = alpha > 0
        # Edge pixels: inside pixels with an outside 4-neighbour.
        edge = inside & ~(np.roll(inside, 1, 0) & np.roll(inside, -1, 0) & np.roll(inside, 1, 1) & np.roll(inside, -1, 1))
        frac = ((alpha[edge] > 0) & (alpha[edge] < 255)).mean()
        assert frac > 0.5, (a.id, frac)


def test_exit_edges(lib):
    for a in lib.assets:
        alpha = a.rgba()[..., 3]
        borders = {"top": alpha[0], "bottom": alpha[-1], "left": alpha[:, 0], "right": alpha[:, -1]}
        exits = [n for n, t in a.targets.items() if t in EXIT_DIRECTIONS]
        if a.exit_edge is None:
            assert not any(b.any() for b in borders.values()), a.id
            continue
        assert exits, a.id
        for name, b in borders.items():
            assert b.any() == (name == a.exit_edge), (a.id, name)


@pytest.mark.parametrize("asset_id", ["hand-cover_mouth-004", "hair-fringe-003", "accessory-eyeglasses-001",
                                      "accessory-microphone-000", "translucent-lace-002", "texture-shape-007"])
def test_regeneration_is_byte_identical(asset_id, tmp_path):
    entry = next(e for e in plan_library() if e.asset_id == asset_id)
    meta, rgba = render_entry(entry, DEFAULT_SEED)
    write_asset(tmp_path, meta, rgba)
    ref = bundled_library_dir()
    for ext in (".png", ".json"):
        assert (tmp_path / f"{asset_id}{ext}").read_bytes() == (ref / f"{asset_id}{ext}").read_bytes(), ext
