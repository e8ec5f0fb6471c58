"""The committed library (assets/occluders): counts, soft alpha, metadata, split, exit edges, size, and
byte-for-byte regeneration from the recorded seed."""


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


def test_hands_reach_the_face_from_below_and_from_the_side(lib):
    arms = [a.targets["arm"] for a in lib.assets if a.kind == "hand"]
    counts = {d: arms.count(d) for d in set(arms)}
    assert set(counts) == {"exit_down", "exit_down_side", "exit_side"}, counts
    # Mostly from below, yet a third or so from the side, in the train and the test split alike.
    assert 0.2 <= 1 - counts["exit_down"] / len(arms) <= 0.5, counts
    for split in ("train", "test"):
        assert {a.targets["arm"] for a in lib.assets if a.kind == "hand" and a.split == split} > {"exit_down"}


#: One asset of each generator family (the hands are where float32 rounding once flipped pixels between CPUs).
#: Every third is also rendered in-process on this CPU's kernels; a held cup or microphone is not among those
#: (on AVX-512 a few of its pixels differ in-process, as the peace signs' do, see below).
REGENERATED = ["hand-cover_mouth-004", "hand-on_cheek-001", "hand-chin_rest-002", "hair-fringe-003",
               "hair-lock-000", "accessory-eyeglasses-001", "accessory-microphone-000", "translucent-smoke-000",
               "translucent-lace-002", "texture-shape-007", "hair-curtain-004", "hand-holding-003"]


def _committed(asset_id: str) -> tuple[np.ndarray, str]:
    from PIL import Image

    ref = bundled_library_dir()
    return np.asarray(Image.open(ref / f"{asset_id}.png")), (ref / f"{asset_id}.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("asset_id", REGENERATED[::3])
def test_regeneration_is_identical(asset_id, tmp_path):
    """Pixels and metadata are identical (the PNG files too, for the same Pillow and zlib)."""
    from PIL import Image

    entry = next(e for e in plan_library() if e.asset_id == asset_id)
    meta, rgba = render_entry(entry, DEFAULT_SEED)
    write_asset(tmp_path, meta, rgba)
    pixels, text = _committed(asset_id)
    assert np.array_equal(np.asarray(Image.open(tmp_path / f"{asset_id}.png")), pixels)
    assert (tmp_path / f"{asset_id}.json").read_text(encoding="utf-8") == text


_REGENERATE = """
import sys
from pathlib import Path
from celebamat.occluders import DEFAULT_SEED, plan_library, render_entry, write_asset
wanted = set(sys.argv[2:])
for e in plan_library():
    if e.asset_id in wanted:
        write_asset(Path(sys.argv[1]), *render_entry(e, DEFAULT_SEED))
"""


@pytest.mark.slow
def test_regeneration_is_identical_on_the_plainest_cpu(tmp_path, cpu_baseline_env):
    """With NumPy's and OpenCV's SIMD dispatch switched off (another CPU, in effect) the generators give the
    committed pixels: geometry and shading run in float64, so CPU-specific last bits never reach a rounding."""
    import subprocess
    import sys

    from PIL import Image

    subprocess.run([sys.executable, "-c", _REGENERATE, str(tmp_path), *REGENERATED], env=cpu_baseline_env,
                   check=True, capture_output=True, timeout=600)
    for asset_id in REGENERATED:
        pixels, text = _committed(asset_id)
        got = np.asarray(Image.open(tmp_path / f"{asset_id}.png"))
        assert got.shape == pixels.shape and np.array_equal(got, pixels), (
            asset_id, int((got != pixels).any(-1).sum()) if got.shape == pixels.shape else got.shape)
        assert (tmp_path / f"{asset_id}.json").read_text(encoding="utf-8") == text, asset_id


@pytest.mark.slow
def test_generate_command_gives_the_committed_bytes_on_any_cpu(tmp_path, capsys):
    """``celebamat occluders generate`` renders on NumPy's and OpenCV's baseline kernels: on a CPU with AVX-512
    a peace-sign hand rendered in-process differs from the committed one in a few pixels (a part of the hand
    surface that is on top by 1e-13 at one pixel); the command gives the committed bytes."""
    from celebamat.cli import main

    ids = ["hand-peace_sign-000", "hand-peace_sign-006", "accessory-phone-002"]
    assert main(["occluders", "generate", "--out", str(tmp_path), "--ids", *ids, "--workers", "2"]) == 0
    assert "wrote 3 assets" in capsys.readouterr().out
    ref = bundled_library_dir()
    for asset_id in ids:
        for ext in (".png", ".json"):
            assert (tmp_path / f"{asset_id}{ext}").read_bytes() == (ref / f"{asset_id}{ext}").read_bytes(), asset_id
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{i}{e}" for i in ids for e in (".json", ".png"))


def test_generate_command_rejects_unknown_ids_and_workers(tmp_path, capsys):
    from celebamat.cli import main

    assert main(["occluders", "generate", "--out", str(tmp_path), "--ids", "hand-nothing-000"]) != 0
    assert "hand-nothing-000" in capsys.readouterr().err
    assert main(["occluders", "generate", "--out", str(tmp_path), "--workers", "0"]) != 0
    assert "workers must be at least 1" in capsys.readouterr().err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())
