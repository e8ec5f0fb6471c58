"""A split that asks for occluders its library cannot give is refused, not built as clean faces."""

import json
import shutil

import pytest

from celebamat.dataset.build import build_dataset, check_occluder_pools
from celebamat.dataset.recipe import recipe_from_dict
from celebamat.errors import CelebAMatError
from celebamat.occluders.asset import bundled_library_dir, load_library


def _library_of(tmp_path, assets: dict[str, str]):
    """A library folder holding copies of bundled assets, each moved to the given split."""
    folder = tmp_path / "lib"
    folder.mkdir()
    for asset_id, split in assets.items():
        meta = json.loads((bundled_library_dir() / f"{asset_id}.json").read_text())
        meta["split"] = split
        (folder / f"{asset_id}.json").write_text(json.dumps(meta))
        shutil.copy(bundled_library_dir() / meta["file"], folder / meta["file"])
    return folder


def _recipe(folder, kinds, count=(0.0, 1.0)):
    return recipe_from_dict({
        "name": "pools", "seed": 0, "faces": {"source": "demo", "size": 128},
        "splits": {"train": 4, "validation": 0, "test": 2},
        "occluders": {"bundled": False, "extra_libraries": [str(folder)], "kinds": kinds, "count": list(count)},
        "output": {"rows_per_shard": 4, "preview_samples": 0},
    })


def _hand_and_hair():
    ids = sorted(p.stem for p in bundled_library_dir().glob("*.json"))
    return next(i for i in ids if i.startswith("hand-")), next(i for i in ids if i.startswith("hair-"))


def test_a_split_without_any_requested_kind_is_refused_before_anything_is_written(tmp_path):
    hand, _ = _hand_and_hair()
    folder = _library_of(tmp_path, {hand: "train"})  # nothing for the test split
    recipe = _recipe(folder, {"hand": 1.0})
    with pytest.raises(CelebAMatError, match=r"split 'test' .*'test' assets.*hand.*clean face"):
        check_occluder_pools(recipe, load_library([folder]))
    out = tmp_path / "out"
    with pytest.raises(CelebAMatError, match="split 'test'"):
        build_dataset(recipe, out, progress=False)
    assert not list(out.rglob("*.parquet"))


def test_a_missing_kind_is_named_and_the_others_still_drawn(tmp_path):
    hand, hair = _hand_and_hair()
    folder = _library_of(tmp_path, {hand: "train", hair: "test"})
    warnings = check_occluder_pools(_recipe(folder, {"hand": 0.5, "hair": 0.5}), load_library([folder]))
    assert warnings == ["split 'train': no train assets of kind hair; its rows draw the other requested kinds only",
                        "split 'test': no test assets of kind hand; its rows draw the other requested kinds only"]


def test_clean_only_recipes_need_no_occluders(tmp_path):
    hand, _ = _hand_and_hair()
    folder = _library_of(tmp_path, {hand: "train"})
    assert check_occluder_pools(_recipe(folder, {"hand": 1.0}, count=(1.0,)), load_library([folder])) == []


def test_a_preview_of_such_a_split_is_refused_too(tmp_path):
    from celebamat.dataset.preview import preview_recipe

    hand, _ = _hand_and_hair()
    folder = _library_of(tmp_path, {hand: "train"})
    with pytest.raises(CelebAMatError, match="split 'test'"):
        preview_recipe(_recipe(folder, {"hand": 1.0}), tmp_path / "p.png", n=2, split="test")
    assert not (tmp_path / "p.png").exists()
    path, _ = preview_recipe(_recipe(folder, {"hand": 1.0}), tmp_path / "p.png", n=2, split="train")
    assert path.is_file()
