"""One build row: the clean image of a face that is its source file's decoding keeps the file's bytes."""

import dataclasses

from celebamat.dataset.recipe import load_recipe
from celebamat.dataset.rows import render_face_row
from celebamat.dataset.worker import library_for, source_for
from celebamat.utils.images import encode_jpeg


def test_clean_keeps_the_source_jpeg_only_in_a_jpeg_dataset(tmp_path, recipe_factory, tiny_library_dir):
    recipe = load_recipe(recipe_factory(tmp_path / "r.toml", tiny_library_dir))
    library = library_for(recipe)
    face = source_for(recipe).load_usable(source_for(recipe).keys()[0])
    assert face.encoded is None  # the demo faces are drawn, not read from a file
    plain, _ = render_face_row(recipe, library, face, "train", 0, 0)
    source_bytes = encode_jpeg(face.image, 75)  # stands for a photo file already at the build's size
    assert plain["clean"]["bytes"] != source_bytes
    row, _ = render_face_row(recipe, library, dataclasses.replace(face, encoded=source_bytes), "train", 0, 0)
    assert row["clean"]["bytes"] == source_bytes
    assert row["alpha"]["bytes"] == plain["alpha"]["bytes"] and row["image"]["bytes"] == plain["image"]["bytes"]
    png = load_recipe(recipe_factory(tmp_path / "p.toml", tiny_library_dir, extra='image_format = "png"'))
    row, _ = render_face_row(png, library, dataclasses.replace(face, encoded=source_bytes), "train", 0, 0)
    assert row["clean"]["bytes"] != source_bytes and row["clean"]["bytes"][:4] == b"\x89PNG"


def test_the_occluded_fraction_is_the_share_of_skin_the_occluders_hide(tmp_path, recipe_factory, tiny_library_dir):
    import numpy as np

    from celebamat.utils.images import decode_image

    recipe = load_recipe(recipe_factory(tmp_path / "r.toml", tiny_library_dir))
    library, source = library_for(recipe), source_for(recipe)
    face = source.load_usable(source.keys()[0])
    fractions = []
    for i in range(6):
        row, params = render_face_row(recipe, library, face, "train", i, i)
        alpha, skin = (decode_image(row[c]["bytes"], gray=True).astype(np.int64) for c in ("alpha", "skin"))
        fractions.append(row["occluded_fraction"])
        assert row["occluded_fraction"] == max(0.0, 1.0 - alpha.sum() / skin.sum())
        assert (row["occluded_fraction"] > 0) == (alpha != skin).any()
    assert max(fractions) > 0.01  # some of these samples are occluded
