import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from celebamat.landmarks import face_anchors, face_frame
from celebamat.occluders.asset import load_library
from celebamat.synth.config import OccluderConfig, SynthConfig
from celebamat.synth.hairline import MAX_FRINGE_STRETCH, hang_from_hairline, photo_hairline
from celebamat.synth.placement import apply, place_asset, similarity_matrix
from celebamat.synth.sampling import sample_params, sample_rng, sample_seed

BUNDLED = Path(__file__).resolve().parents[3] / "assets" / "occluders"
DOWN = np.array([0.0, 1.0])


def _skin_from(row: int, size: int = 256) -> np.ndarray:
    skin = np.zeros((size, size), np.float32)
    skin[row:] = 1.0
    return skin


def test_photo_hairline_is_where_the_skin_ends_above_the_forehead():
    top = np.array([128.0, 150.0])
    np.testing.assert_allclose(photo_hairline(_skin_from(110), top, DOWN, 40.0), [128.0, 109.0])
    # Skin that already ends below the forehead top (a fringe in the photo): the top itself.
    np.testing.assert_allclose(photo_hairline(_skin_from(170), top, DOWN, 40.0), top)
    # Skin running off the image: the border.
    np.testing.assert_allclose(photo_hairline(_skin_from(0), np.array([128.0, 30.0]), DOWN, 40.0), [128.0, 0.0])


def test_photo_hairline_follows_a_rolled_face():
    roll = np.radians(20)
    down = np.array([-np.sin(roll), np.cos(roll)])
    yy, xx = np.mgrid[:256, :256]
    skin = ((np.stack([xx - 128.0, yy - 128.0], -1) @ down) > -60).astype(np.float32)  # skin ends 60 px up
    got = photo_hairline(skin, np.array([128.0, 128.0]), down, 40.0)
    assert np.dot(got - 128.0, down) == pytest.approx(-60.0, abs=1.5)  # to a pixel's rounding


def test_hang_from_hairline_keeps_the_tips_and_moves_the_roots():
    m = similarity_matrix(0.5, 0.0, np.array([40.0, 60.0]))
    size, roots = (300, 180), np.array([150.0, 45.0])
    tips0, roots0 = apply(m, np.array([[150.0, 180.0], roots]))  # tips at y 150, roots at y 82.5
    assert hang_from_hairline(m, size, roots, roots0 + [0.0, 10.0], DOWN) is m  # already above it: unchanged
    out = hang_from_hairline(m, size, roots, np.array([190.0, 52.5]), DOWN)  # 30 px higher: x 1.444
    tips1, roots1, edge = apply(out, np.array([[150.0, 180.0], roots, [300.0, 180.0]]))
    np.testing.assert_allclose(tips1, tips0, atol=1e-9)
    assert roots1[1] == pytest.approx(52.5) and roots1[0] == pytest.approx(roots0[0])
    assert edge[0] - tips1[0] == pytest.approx(75.0)  # the width is kept
    too_far = tips0[1] - MAX_FRINGE_STRETCH * (tips0[1] - roots0[1]) - 1.0
    assert hang_from_hairline(m, size, roots, np.array([190.0, too_far]), DOWN) is None


@pytest.fixture(scope="module")
def fringe_library(tmp_path_factory):
    out = tmp_path_factory.mktemp("fringes")
    for p in BUNDLED.glob("hair-fringe-*"):
        shutil.copy(p, out / p.name)
    lib = load_library([out])
    assert lib.by_kind("hair", "train") and not lib.skipped
    return lib


def _fringe_config() -> SynthConfig:
    return SynthConfig(occluders=OccluderConfig(count=(0.0, 1.0), kinds={"hair": 1.0}))


def test_sampled_fringes_hang_from_the_photos_hairline(synth_faces, fringe_library):
    face = synth_faces[0]
    frame = face_frame(face.landmarks)
    top = face.landmarks[10].astype(np.float64)
    # The same face with a higher forehead: skin 0.45 inter-ocular distances above the mesh's top.
    high = top[1] - 0.45 * frame.iod
    skin = face.skin.copy()
    skin[int(high):int(top[1]) + 1, :] = np.maximum(skin[int(high):int(top[1]) + 1, :], 1.0)
    tall = replace(face, skin=skin)
    hairline = photo_hairline(skin, top, frame.down, frame.iod)
    raised = 0
    for i in range(6):
        p = sample_params(sample_rng(3, i), tall, fringe_library, _fringe_config(), split="train",
                          seed=sample_seed(3, i))
        (op,) = p.occluders
        asset = fringe_library.get(op.asset_id)
        roots = apply(op.matrix, np.array([asset.anchors["hairline"]]))[0]
        assert np.dot(roots - hairline, frame.down) <= 1e-3  # roots at or above the hairline, never below
        # ...and no higher than the placement would put them on a face whose hairline is lower.
        plain = sample_params(sample_rng(3, i), face, fringe_library, _fringe_config(), split="train",
                              seed=sample_seed(3, i))
        assert plain.occluders[0].asset_id == op.asset_id
        low = apply(plain.occluders[0].matrix, np.array([asset.anchors["hairline"]]))[0]
        assert np.dot(roots - low, frame.down) <= 1e-3
        raised += np.dot(low - roots, frame.down) > 2.0
    assert raised >= 3  # most fringes had to reach up


def test_no_fringe_where_no_hair_could_hang(synth_faces, fringe_library):
    face = synth_faces[1]
    bald = replace(face, skin=np.ones_like(face.skin))  # skin up to the image's top: nothing to hang from
    for i in range(4):
        p = sample_params(sample_rng(4, i), bald, fringe_library, _fringe_config(), split="train",
                          seed=sample_seed(4, i))
        assert p.occluders == ()
    anchors, frame = face_anchors(face.landmarks), face_frame(face.landmarks)
    asset = fringe_library.by_kind("hair", "train")[0]
    m = place_asset(np.random.default_rng(0), asset, anchors, frame)
    assert hang_from_hairline(m, asset.size, np.asarray(asset.anchors["hairline"], float),
                              np.array([128.0, 0.0]), frame.down) is None
