"""Recolouring real hair occluders towards the face's own hair colour: a recipe option, alpha untouched."""

from dataclasses import replace

import cv2
import numpy as np
import pytest

from celebamat.dataset.recipe import load_recipe
from celebamat.errors import RecipeError
from celebamat.occluders.asset import load_library, write_asset
from celebamat.synth.config import Chance, OccluderConfig, RealismConfig, SynthConfig, synth_config_from_dict
from celebamat.synth.realism import hair_statistics
from celebamat.synth.render import render
from celebamat.synth.sampling import sample_params, sample_rng, sample_seed


@pytest.fixture(scope="module")
def hair_library(tmp_path_factory):
    out = tmp_path_factory.mktemp("hair")
    rgba = np.zeros((80, 200, 4), np.uint8)
    rgba[..., :3] = (200, 40, 160)  # a colour no hair in the test faces has
    a = np.zeros((80, 200), np.uint8)
    cv2.rectangle(a, (10, 0), (190, 60), 255, -1)
    rgba[..., 3] = cv2.GaussianBlur(a, (0, 0), 2)
    for split in ("train", "test"):
        write_asset(out, {"id": f"fringe-{split}", "kind": "hair", "subtype": "fringe", "split": split,
                          "anchors": {"temple_left": [20, 10], "temple_right": [180, 10]},
                          "targets": {"temple_left": "temple_left", "temple_right": "temple_right"},
                          "scale": {"measure": "iod", "length": 200, "range": [1, 1]}, "rotation": [0, 0],
                          "mirror": False, "zones": [], "layer": 10, "license": "CC0-1.0", "source": "tests",
                          "tags": {"recolor": "hair"}}, rgba)
    return load_library(out)


def _config(p: float) -> SynthConfig:
    return SynthConfig(occluders=OccluderConfig(count=(0.0, 1.0), kinds={"hair": 1.0}),
                       realism=replace(RealismConfig(), hair_recolor=Chance(p, (0.8, 0.8))))


def test_option_parsed_and_old_fingerprints_kept():
    cfg = synth_config_from_dict(None, {"hair_recolor": {"probability": 0.5, "range": [0.3, 0.6]}})
    assert cfg.realism.hair_recolor == Chance(0.5, (0.3, 0.6))
    with pytest.raises(RecipeError, match="hair_recolor.range"):
        synth_config_from_dict(None, {"hair_recolor": {"range": [0.5, 2.0]}})
    assert "hair_recolor" not in load_recipe("demo").to_dict()["realism"]


def test_recolour_changes_colour_never_alpha(synth_faces, hair_library):
    face = synth_faces[0]
    off = sample_params(sample_rng(1, 0), face, hair_library, _config(0.0), split="train", seed=sample_seed(1, 0))
    on = sample_params(sample_rng(1, 0), face, hair_library, _config(1.0), split="train", seed=sample_seed(1, 0))
    assert off.occluders[0].tone_transfer == 0.0 and on.occluders[0].tone_transfer == pytest.approx(0.8)
    assert off.occluders[0].transform == on.occluders[0].transform
    # hair_recolor takes precedence over the general hair_colour step (never both on one occluder).
    assert on.occluders[0].hair_colour == 0.0
    # Render one draw with and without the recolouring: everything else equal (hair_colour off in both).
    base = replace(off, noise_sigma=0.0, jpeg_quality=0,
                   occluders=(replace(off.occluders[0], hair_colour=0.0),))
    recol = replace(base, occluders=(replace(base.occluders[0], tone_transfer=0.8),))
    assets = {a.id: a for a in hair_library}
    a, b = render(face, assets, base), render(face, assets, recol)
    np.testing.assert_array_equal(a.alpha, b.alpha)
    np.testing.assert_array_equal(a.occluder_alpha, b.occluder_alpha)
    covered = a.occluder_alpha > 200
    assert covered.sum() > 100
    target = hair_statistics(face.image.astype(np.float32) / 255, face.skin, face.landmarks)
    lab = lambda img: cv2.cvtColor(img.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)[covered].mean(0)  # noqa: E731
    assert np.linalg.norm(lab(b.image) - target) < np.linalg.norm(lab(a.image) - target)
