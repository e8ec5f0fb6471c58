"""Skin estimators: the learned one (a FaceMat checkpoint) on folder photos, and what the build records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from celebamat.errors import CelebAMatError
from celebamat.faces import open_source
from celebamat.faces.align import align_image, alignment_transform
from celebamat.faces.estimators import LANDMARK_ESTIMATOR, ModelSkinEstimator, skin_estimator


@pytest.fixture(scope="module", autouse=True)
def _torch_threads():
    """The model estimator runs torch on one thread (process-wide): give later tests their threads back."""
    import torch

    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """An untrained FaceMat student at 64 px: real weights, real runtime, no training."""
    import torch

    from facemat.checkpoint import save_checkpoint
    from facemat.models import create_model

    torch.manual_seed(0)  # weights only; the library itself draws from no global RNG
    model = create_model("student").eval()
    with torch.no_grad():  # most of the crop called skin: a face whose skin is near empty is skipped ("no skin")
        model.head.weight.mul_(0.1)
        model.head.bias.fill_(3.0)
    path = tmp_path_factory.mktemp("ckpt") / "student.safetensors"
    save_checkpoint(path, model, {"model": "student", "model_kwargs": {}, "input_size": 64})
    return path


@pytest.fixture(scope="module")
def two_photos(tmp_path_factory, astronaut, grace) -> Path:
    d = tmp_path_factory.mktemp("two-photos")
    Image.fromarray(astronaut).save(d / "astronaut.png")
    Image.fromarray(grace).save(d / "grace.png")
    return d


def test_model_estimator_predicts_on_the_aligned_crop(tiny_checkpoint, demo_faces):
    rec = demo_faces["grace_hopper"]
    est = ModelSkinEstimator(tiny_checkpoint)
    assert est.name.startswith("estimate:facemat:student.safetensors:") and len(est.name.rsplit(":", 1)[1]) == 12
    skin = est(rec.image, rec.landmarks)
    assert skin.shape == rec.image.shape[:2] and skin.dtype == np.float32
    assert 0.0 <= skin.min() and skin.max() <= 1.0
    # The same prediction as running the runtime on FaceMat's own framing of the face, then warping back.
    m = alignment_transform(rec.landmarks.astype(np.float64), 64)
    crop = align_image(rec.image, m, 64)
    direct = est.runtime(crop[None].transpose(0, 3, 1, 2).astype(np.float32) / 255.0)["alpha"][0, 0]
    nose = rec.landmarks[1].astype(np.float64)
    in_crop = m[:, :2] @ nose + m[:, 2]
    assert skin[int(nose[1]), int(nose[0])] == pytest.approx(float(direct[int(in_crop[1]), int(in_crop[0])]), abs=0.1)


def test_folder_source_with_skin_model(two_photos, tiny_checkpoint):
    plain = open_source(f"folder:{two_photos}", size=128, skin_model="landmarks").load("folder:grace.png")
    assert plain.skin_source == LANDMARK_ESTIMATOR == plain.provenance["skin"]
    # Without skin_model, folder photos get the bundled student's skin (docs/faces.md, "Which estimator").
    default = open_source(f"folder:{two_photos}", size=128).load("folder:grace.png")
    assert default.skin_source.startswith("estimate:facemat:bundled:facemat-student-hands:")
    assert np.array_equal(default.image, plain.image)
    src = open_source(f"folder:{two_photos}", size=128, skin_model=str(tiny_checkpoint))
    rec = src.load("folder:grace.png")
    assert rec.skin_source == skin_estimator(tiny_checkpoint).name
    assert rec.skin_source.startswith("estimate:facemat:student.safetensors:")
    assert not np.allclose(rec.skin, plain.skin)  # the model made it, not the landmarks
    assert np.array_equal(rec.image, plain.image)  # alignment does not depend on the estimator


def test_bundled_skin_model_resolves_to_facemat_s_bundled_weights(two_photos, demo_faces):
    from facemat.pretrained import DEFAULT_MODEL, pretrained_dir

    est = skin_estimator("bundled")
    assert isinstance(est, ModelSkinEstimator) and est.path == pretrained_dir() / "model.safetensors"
    assert est.name.startswith(f"estimate:facemat:bundled:{DEFAULT_MODEL}:") and len(est.name.rsplit(":", 1)[1]) == 12
    assert skin_estimator(f"bundled:{DEFAULT_MODEL}").name == est.name
    rec = demo_faces["grace_hopper"]  # a clean face: most of its oval is visible skin
    skin = est(rec.image, rec.landmarks)
    assert skin.shape == rec.image.shape[:2] and skin.dtype == np.float32
    nose = rec.landmarks[1].astype(int)
    assert skin[nose[1], nose[0]] > 0.5 and skin[0, 0] < 0.5  # skin on the nose, none in the corner
    src = open_source(f"folder:{two_photos}", size=128, skin_model="bundled")
    assert src.load("folder:grace.png").skin_source == est.name
    with pytest.raises(CelebAMatError, match="no bundled model 'nope'"):
        skin_estimator("bundled:nope")


def test_bad_skin_model_fails_when_the_source_opens(two_photos, tmp_path):
    with pytest.raises(CelebAMatError, match="nowhere.safetensors.*does not exist"):
        open_source(f"folder:{two_photos}", skin_model=str(tmp_path / "nowhere.safetensors"))
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CelebAMatError, match="junk.safetensors cannot be loaded"):
        open_source(f"folder:{two_photos}", skin_model=str(junk))
    with pytest.raises(CelebAMatError, match="skin_model"):
        open_source("demo", skin_model=str(junk))  # only folder sources take it


def test_build_records_the_skin_estimator_per_row(tmp_path, two_photos, tiny_checkpoint, tiny_library_dir,
                                                  recipe_factory):
    import pyarrow.parquet as pq

    from celebamat.dataset.build import build_dataset
    from celebamat.dataset.recipe import load_recipe

    path = recipe_factory(tmp_path / "r.toml", tiny_library_dir, source=f"folder:{two_photos}", train=4)
    text = path.read_text().replace("size = 128\n", f'size = 128\noptions = {{ skin_model = "{tiny_checkpoint}" }}\n')
    path.write_text(text)
    out = tmp_path / "ds"
    build_dataset(load_recipe(path), out, progress=False)
    names = set()
    for shard in sorted((out / "data").glob("*.parquet")):
        names |= set(pq.read_table(shard, columns=["skin_source"]).column("skin_source").to_pylist())
    assert names == {skin_estimator(tiny_checkpoint).name}
    card = (out / "README.md").read_text()
    assert "**estimated** skin matte" in card and str(tiny_checkpoint) in card
    assert "exact ground-truth matte of the visible skin" not in card
    assert json.loads((out / "manifest.json").read_text())["recipe"]["faces"]["options"] == {
        "skin_model": str(tiny_checkpoint)}
