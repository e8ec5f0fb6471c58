import pytest

from celebamat.dataset.plan import make_plan
from celebamat.dataset.recipe import recipe_from_dict
from celebamat.errors import CelebAMatError


def _faces(n_people=30, per_person=3):
    return [(f"f{p:03d}-{k}", f"person{p}") for p in range(n_people) for k in range(per_person)]


def test_identity_disjoint_splits():
    r = recipe_from_dict({"splits": {"train": "rest", "validation": 9, "test": 12, "assign": "identity"}})
    plan = make_plan(r, _faces())
    ident = {k: i for k, i in _faces()}
    people = {s: {ident[k] for k in plan.splits[s]} for s in plan.splits}
    assert not people["train"] & people["test"] and not people["train"] & people["validation"]
    assert not people["validation"] & people["test"]
    assert len(plan.splits["test"]) == 12 and len(plan.splits["validation"]) == 9
    # train takes every remaining face once
    assert len(plan.splits["train"]) == len(set(plan.splits["train"])) == 90 - len(plan.faces["test"]) - len(
        plan.faces["validation"])


def test_plan_is_deterministic_and_seed_dependent():
    r = recipe_from_dict({"splits": {"train": 20, "validation": 5, "test": 5, "assign": "face"}})
    a, b = make_plan(r, _faces()), make_plan(r, list(reversed(_faces())))
    assert a == b
    c = make_plan(recipe_from_dict({"seed": 1, "splits": {"train": 20, "validation": 5, "test": 5,
                                                          "assign": "face"}}), _faces())
    assert c.splits != a.splits


def test_sample_mode_cycles_through_few_faces_and_shards_cover_every_row():
    r = recipe_from_dict({"splits": {"train": 25, "validation": 3, "test": 4}})
    plan = make_plan(r, [("a", None), ("b", None), ("c", None)])
    assert len(plan.splits["train"]) == 25 and set(plan.splits["train"]) == {"a", "b", "c"}
    shards = plan.shards(10)
    assert [s.name for s in shards][:3] == [
        "data/train-00000-of-00003.parquet", "data/train-00001-of-00003.parquet", "data/train-00002-of-00003.parquet"]
    indices = [i for s in shards for i, _ in s.rows]
    assert indices == list(range(32))


def test_too_few_faces_is_a_clear_error():
    r = recipe_from_dict({"splits": {"train": 10, "validation": 10, "test": 716, "assign": "identity"}})
    with pytest.raises(CelebAMatError, match="split 'test' needs 716 faces"):
        make_plan(r, _faces(10, 2))
    with pytest.raises(CelebAMatError, match="no usable faces"):
        make_plan(r, [])


def test_total_rescales_a_rest_recipe_to_the_usable_faces():
    from celebamat.dataset.recipe import load_recipe

    r = load_recipe("celebamat-512").with_overrides(samples=30)
    plan = make_plan(r, _faces(60, 2))  # 120 faces: far fewer than the paper's 1,716 held out
    sizes = {s: len(v) for s, v in plan.splits.items()}
    assert sum(sizes.values()) == 30 and sizes["test"] >= 1 and sizes["validation"] >= 1
    assert sizes["test"] <= sizes["validation"] < sizes["train"]
    ident = {k: i for k, i in _faces(60, 2)}
    people = {s: {ident[k] for k in v} for s, v in plan.splits.items()}
    assert not people["train"] & people["test"] and not people["validation"] & people["test"]
    with pytest.raises(CelebAMatError, match="--samples N"):
        make_plan(load_recipe("celebamat-512"), _faces(60, 2))
