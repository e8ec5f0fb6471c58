import pytest

from celebamat.dataset.recipe import available_recipes, load_recipe, recipe_from_dict, scale_counts
from celebamat.errors import RecipeError


def test_bundled_recipes_load():
    names = available_recipes()
    assert {"demo", "celebamat-512"} <= set(names)
    for n in names:
        r = load_recipe(n)
        assert r.name and r.faces.size % 32 == 0
    demo = load_recipe("demo")
    assert demo.faces.source == "demo" and sum(demo.splits.counts.values()) == 1000
    paper = load_recipe("celebamat-512")
    assert paper.splits.counts["test"] == 716 and paper.splits.counts["train"] is None
    assert paper.splits.assign == "identity" and paper.synth.occluders.test_asset_splits == ("test",)


@pytest.mark.parametrize(
    "data, key, allowed",
    [
        ({"faces": {"source": "webcam"}}, "faces.source", "demo, folder:DIR"),
        ({"faces": {"size": 500}}, "faces.size", "multiple of 32"),
        ({"splits": {"train": -3}}, "splits.train", "integer >= 0"),
        ({"splits": {"assign": "random"}}, "splits.assign", "identity, face, sample"),
        ({"splits": {"train": "rest", "test": "rest"}}, "splits", "at most one"),
        ({"occluders": {"count": [0, -1]}}, "occluders.count", "non-negative weights"),
        ({"occluders": {"kinds": {"dragon": 1}}}, "occluders.kinds.dragon", "kinds among"),
        ({"occluders": {"colour": 1}}, "occluders.colour", "one of"),
        ({"realism": {"jpeg": {"probability": 2}}}, "realism.jpeg.probability", "between 0 and 1"),
        ({"realism": {"noise": {"range": [3, 1]}}}, "realism.noise.range", "low <= high"),
        ({"output": {"image_format": "gif"}}, "output.image_format", "jpeg, png"),
        ({"outputs": {}}, "outputs", "keys"),
        ({"seed": -1}, "seed", "integer >= 0"),
    ],
)
def test_malformed_recipe_names_key_value_and_allowed(data, key, allowed):
    with pytest.raises(RecipeError) as e:
        recipe_from_dict(data)
    msg = str(e.value)
    assert repr(key) in msg and allowed in msg


def test_recipe_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[faces\nsource = 1")
    with pytest.raises(RecipeError, match="bad.toml.*not valid TOML"):
        load_recipe(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[output]\nrows_per_shard = 0\n")
    with pytest.raises(RecipeError, match="wrong.toml.*output.rows_per_shard"):
        load_recipe(wrong)
    with pytest.raises(RecipeError, match="no recipe named 'nope'.*demo"):
        load_recipe("nope")


def test_overrides_and_fingerprint():
    r = load_recipe("demo")
    o = r.with_overrides(faces="folder:/x", samples=100, seed=5)
    assert o.faces.source == "folder:/x" and o.seed == 5
    assert sum(o.splits.counts.values()) == 100 and o.splits.counts["train"] == 80
    assert o.fingerprint() != r.fingerprint()
    assert r.fingerprint() == load_recipe("demo").fingerprint()


def test_scale_counts_keeps_proportions():
    assert scale_counts({"train": 800, "validation": 100, "test": 100}, 10) == {"train": 8, "validation": 1, "test": 1}
    assert scale_counts({"train": 25000, "validation": 1000, "test": 716}, 100) == {
        "train": 95, "validation": 3, "test": 2}
    assert scale_counts({"train": 5, "validation": 0, "test": 5}, 4) == {"train": 2, "validation": 0, "test": 2}
    with pytest.raises(RecipeError):
        scale_counts({"train": 1}, 0)


def test_samples_on_a_rest_recipe_is_resolved_by_the_plan():
    paper = load_recipe("celebamat-512").with_overrides(samples=100)
    assert paper.splits.total == 100 and paper.splits.counts["train"] is None
