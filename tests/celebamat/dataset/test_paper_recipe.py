"""The paper recipe: real occluder libraries, identity splits, hair recolouring."""

from celebamat.dataset.recipe import available_recipes, load_recipe
from celebamat.synth.config import Chance


def test_paper_recipe_loads_with_real_occluder_libraries():
    assert "celebamat-paper" in available_recipes()
    r = load_recipe("celebamat-paper")
    occ = r.synth.occluders
    assert occ.bundled and "occluders/harvested" in occ.extra_libraries
    assert {"occluders/11k-hands", "occluders/sim", "occluders/dtd", "occluders/figaro1k"} <= set(occ.extra_libraries)
    assert r.splits.assign == "identity" and r.splits.counts["test"] == 716
    assert r.synth.realism.hair_recolor == Chance(0.5, (0.4, 0.8))
    assert r.to_dict()["realism"]["hair_recolor"] == {"probability": 0.5, "range": (0.4, 0.8)}
