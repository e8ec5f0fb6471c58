"""What a preview sample is: the build's sample stream on the source's faces in order, from the shared face cache."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from celebamat.dataset.recipe import load_recipe


def test_preview_sample_i_is_build_sample_index_i_on_the_next_face(tmp_path, recipe_factory, tiny_library_dir):
    from celebamat.dataset.plan import make_plan
    from celebamat.dataset.preview import preview_samples
    from celebamat.dataset.rows import render_row
    from celebamat.dataset.worker import load_face, source_for

    recipe = load_recipe(recipe_factory(tmp_path / "r.toml", tiny_library_dir))
    source = source_for(recipe)
    keys = source.keys()
    got = list(zip(range(5), preview_samples(recipe, split="test")))
    assert [p.face for _, p in got] == [keys[i % len(keys)] for i in range(5)]  # faces in the source's order
    for i, p in got:
        assert p.index == i
        # Rendered by the build's own row renderer with sample index i and the same face: the same sample.
        row, params = render_row(recipe, "test", 0, i, p.face)
        assert params.to_json() == p.params.to_json()
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(row["alpha"]["bytes"]))), p.sample.alpha)
    # ... yet not row i of a build: the plan draws the faces of a split's rows in a shuffled order.
    plan = make_plan(recipe, [(k, None) for k in keys])
    train = plan.splits["train"]
    assert list(train) != [keys[i % len(keys)] for i in range(len(train))]
    # The preview loaded its faces through the public cached loader the build uses.
    assert load_face(source, keys[0]) is load_face(source, keys[0])
