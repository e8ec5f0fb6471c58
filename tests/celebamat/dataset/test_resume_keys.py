"""A resume never mixes builds: another sample format or library version is refused naming the change, and
a change of the faces on disk makes the scan run again and the affected shards be written again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

import celebamat.dataset.build as build_mod
from celebamat.dataset.build import build_dataset
from celebamat.dataset.recipe import load_recipe
from celebamat.dataset.verify import verify_dataset
from celebamat.errors import CelebAMatError
from celebamat.faces.demo import demo_photo


def _shard_bytes(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))}


@pytest.fixture
def built(tmp_path, tiny_library_dir, recipe_factory):
    recipe = load_recipe(recipe_factory(tmp_path / "r.toml", tiny_library_dir, train=4))
    out = tmp_path / "ds"
    build_dataset(recipe, out, progress=False)
    return recipe, out


def test_resume_with_another_sample_format_is_refused_naming_it(built, monkeypatch):
    recipe, out = built
    before = _shard_bytes(out)
    monkeypatch.setattr(build_mod, "SAMPLE_FORMAT_VERSION", build_mod.SAMPLE_FORMAT_VERSION + 40)
    with pytest.raises(CelebAMatError) as e:
        build_dataset(recipe, out, progress=False)
    msg = str(e.value)
    assert f"sample format {build_mod.SAMPLE_FORMAT_VERSION - 40} -> {build_mod.SAMPLE_FORMAT_VERSION}" in msg
    assert "--overwrite" in msg
    assert _shard_bytes(out) == before  # nothing lost or touched


def test_resume_with_another_library_version_is_refused_naming_it(built, monkeypatch):
    recipe, out = built
    real = build_mod._package_versions
    monkeypatch.setattr(build_mod, "_package_versions",
                        lambda pkgs: {**real(pkgs), "opencv-contrib-python": "0.0.1"})
    with pytest.raises(CelebAMatError, match=r"package opencv-contrib-python [\d.]+ -> 0\.0\.1"):
        build_dataset(recipe, out, progress=False)


def test_same_key_resumes(built):
    recipe, out = built
    before = _shard_bytes(out)
    report = build_dataset(recipe, out, progress=False)
    assert report.shards_written == 0 and _shard_bytes(out) == before


def test_a_photo_added_to_the_folder_is_scanned_and_no_old_shard_survives(tmp_path, tiny_library_dir,
                                                                           recipe_factory):
    faces = tmp_path / "faces"
    faces.mkdir()
    Image.fromarray(demo_photo("astronaut")).save(faces / "a.jpg", quality=92)
    recipe = load_recipe(recipe_factory(tmp_path / "f.toml", tiny_library_dir, source=f"folder:{faces}", train=4))
    out = tmp_path / "ds"
    build_dataset(recipe, out, progress=False)
    Image.fromarray(demo_photo("grace_hopper")).save(faces / "g.jpg", quality=92)
    report = build_dataset(recipe, out, progress=False)
    scanned = json.loads((out / ".celebamat" / "faces.json").read_text())["faces"]
    assert [f["key"] for f in scanned] == ["folder:a.jpg", "folder:g.jpg"]
    assert report.shards_written > 0
    # The resumed folder holds exactly what a fresh build of the two photos writes.
    fresh = tmp_path / "fresh"
    build_dataset(recipe, fresh, progress=False)
    assert _shard_bytes(out) == _shard_bytes(fresh)
    assert verify_dataset(out).ok
    # Removing a photo is seen too.
    (faces / "a.jpg").unlink()
    build_dataset(recipe, out, progress=False)
    scanned = json.loads((out / ".celebamat" / "faces.json").read_text())["faces"]
    assert [f["key"] for f in scanned] == ["folder:g.jpg"]


def test_an_old_build_state_without_parts_is_refused_with_a_reason(built):
    recipe, out = built
    state = out / ".celebamat" / "build.json"
    old = json.loads(state.read_text())
    state.write_text(json.dumps({"key": "0" * 64, "recipe": old["recipe"]}))
    with pytest.raises(CelebAMatError, match="older celebamat"):
        build_dataset(recipe, out, progress=False)
    shutil.rmtree(out)
