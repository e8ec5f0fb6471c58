"""Fixtures for the synthesis and build tests: a small face set and a small occluder library.

The library is written in the real asset format (``write_asset``) with shapes whose geometry the tests know
exactly: an arm (palm disc + forearm cut by the bottom border), eyeglasses (two rings), a hair fringe
(hanging from the top border) and a zone-placed translucent blob, each in a train and a test version.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from celebamat.utils.cpu import baseline_cpu_env

ARM_SIZE = (120, 300)
GLASSES_SIZE = (200, 40)


def _soft(mask: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(mask, (0, 0), 1.2)


def make_library(out: Path) -> Path:
    from celebamat.occluders.asset import write_asset

    w, h = ARM_SIZE
    arm = np.zeros((h, w, 4), np.uint8)
    arm[..., :3] = (196, 148, 118)
    a = np.zeros((h, w), np.uint8)
    cv2.circle(a, (60, 60), 50, 255, -1, cv2.LINE_AA)
    cv2.rectangle(a, (35, 60), (85, h - 1), 255, -1)
    a = _soft(a)
    a[-4:, 36:85] = 255  # the forearm is cut by the bottom border
    arm[..., 3] = a
    gw, gh = GLASSES_SIZE
    gl = np.zeros((gh, gw, 4), np.uint8)
    ga = np.zeros((gh, gw), np.uint8)
    for cx in (50, 150):
        cv2.circle(ga, (cx, 20), 17, 255, 3, cv2.LINE_AA)
    cv2.line(ga, (68, 20), (132, 20), 255, 3, cv2.LINE_AA)
    lens = np.zeros((gh, gw), np.uint8)
    for cx in (50, 150):
        cv2.circle(lens, (cx, 20), 16, 40, -1, cv2.LINE_AA)
    gl[..., :3] = 25
    gl[..., 3] = np.maximum(ga, lens)
    fr = np.zeros((120, 260, 4), np.uint8)
    fa = np.zeros((120, 260), np.uint8)
    rng = np.random.default_rng(0)
    for _ in range(60):
        x0 = int(rng.integers(10, 250))
        cv2.line(fa, (x0, 0), (x0 + int(rng.integers(-30, 30)), int(rng.integers(40, 115))), 255, 2, cv2.LINE_AA)
    fa[0:2] = np.maximum(fa[0:2], 0)
    fr[..., :3] = (70, 45, 30)
    fr[..., 3] = fa
    blob = np.zeros((100, 100, 4), np.uint8)
    ba = np.zeros((100, 100), np.uint8)
    cv2.circle(ba, (50, 50), 40, 150, -1, cv2.LINE_AA)
    blob[..., :3] = 230
    blob[..., 3] = cv2.GaussianBlur(ba, (0, 0), 4)
    for split in ("train", "test"):
        common = {"split": split, "license": "CC0-1.0", "source": "tests", "mirror": True, "zones": []}
        write_asset(out, {**common, "id": f"arm-{split}", "kind": "hand", "subtype": "cover_mouth",
                          "file": f"arm-{split}.png", "size": [w, h],
                          "anchors": {"palm": [60, 60], "wrist": [60, h]},
                          "targets": {"palm": "mouth_center", "wrist": "exit_down"},
                          "scale": {"measure": "face_width", "length": 100, "range": [0.6, 0.8]},
                          "rotation": [-15, 15], "layer": 40, "exit_edge": "bottom"}, arm)
        write_asset(out, {**common, "id": f"glasses-{split}", "kind": "accessory", "subtype": "eyeglasses",
                          "file": f"glasses-{split}.png", "size": [gw, gh],
                          "anchors": {"lens_left": [50, 20], "lens_right": [150, 20]},
                          "targets": {"lens_left": "eye_left", "lens_right": "eye_right"},
                          "scale": {"measure": "iod", "length": 100, "range": [0.97, 1.03]},
                          "rotation": [-3, 3], "layer": 35}, gl)
        write_asset(out, {**common, "id": f"fringe-{split}", "kind": "hair", "subtype": "fringe",
                          "file": f"fringe-{split}.png", "size": [260, 120],
                          "anchors": {"root_left": [20, 0], "root_right": [240, 0]},
                          "targets": {"root_left": "temple_left", "root_right": "temple_right"},
                          "scale": {"measure": "face_width", "length": 220, "range": [0.95, 1.05]},
                          "rotation": [-5, 5], "layer": 10}, fr)
        write_asset(out, {**common, "id": f"blob-{split}", "kind": "translucent", "subtype": "smoke",
                          "file": f"blob-{split}.png", "size": [100, 100], "anchors": {"center": [50, 50]},
                          "targets": {}, "zones": ["mouth", "cheek_left"],
                          "scale": {"measure": "iod", "length": 100, "range": [0.8, 1.2]},
                          "rotation": [-30, 30], "layer": 20}, blob)
    return out


def make_recipe(path: Path, library: Path, *, source: str = "demo", train: int = 10, seed: int = 3,
                 rows_per_shard: int = 4, extra: str = "") -> Path:
    variants = 'options = { variants = ["m0", "m1"] }' if source == "demo" else ""
    path.write_text(f"""
name = "tiny"
seed = {seed}
[faces]
source = "{source}"
size = 128
{variants}
[splits]
train = {train}
validation = 3
test = 3
assign = "sample"
[occluders]
bundled = false
extra_libraries = ["{library}"]
count = [0.1, 0.5, 0.4]
[output]
rows_per_shard = {rows_per_shard}
preview_samples = 4
{extra}
""")
    return path



@pytest.fixture(scope="session")
def tiny_library_dir(tmp_path_factory) -> Path:
    return make_library(tmp_path_factory.mktemp("occluders"))


@pytest.fixture(scope="session")
def tiny_library(tiny_library_dir):
    from celebamat.occluders.asset import load_library

    lib = load_library([tiny_library_dir])
    assert not lib.skipped, lib.skipped
    return lib


@pytest.fixture(scope="session")
def synth_faces():
    """Two aligned demo faces at 256 px (real mediapipe landmarks and skin mattes)."""
    from celebamat.faces import open_source

    src = open_source("demo", size=256)
    return [src.load("demo:astronaut-m0"), src.load("demo:grace_hopper-m1")]


@pytest.fixture(scope="session")
def recipe_factory():
    """``make_recipe(path, library, ...)``: write a tiny build recipe (see :func:`make_recipe`)."""
    return make_recipe


# --- portability: NumPy and OpenCV on their baseline code paths ----------------------------------------
# A result computed under :func:`baseline_cpu_env` and in a normal process must agree wherever the project
# promises bytes (or a tolerance) across CPUs; it is how the tests check cross-CPU claims on one machine.
@pytest.fixture(scope="session")
def cpu_baseline_env() -> dict[str, str]:
    return baseline_cpu_env()
