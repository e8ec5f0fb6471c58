"""The row schema of CelebAMat (one row per sample) and its Hugging Face ``Features``.

Alpha encoding: every matte column (``alpha``, ``skin``, ``occluder_alpha``) is an 8-bit single-channel
PNG where **255 means fully skin (or fully occluder) and 0 means none**; never 0/1. ``alpha`` is the
visible skin: ``alpha = skin * prod_i(1 - a_i)`` computed in float and quantised once.
"""

from __future__ import annotations

SPLITS = ("train", "validation", "test")

#: Version of the sample bytes: how faces are loaded, occluders sampled and rendered, and rows encoded.
#: Bump it in any change that alters the bytes of a sample for the same recipe, faces and library; it is part
#: of the build key, so a resume never mixes shards of two versions. tests/celebamat/synth/test_golden.py
#: fails when sample bytes change and this number does not.
SAMPLE_FORMAT_VERSION = 13

#: Edges of the occluded-fraction histogram kept per shard (for the card's statistics).
OCCLUSION_BINS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0001)

#: Column name -> one-line description (used by the dataset card; keep in step with :func:`features`).
COLUMNS: dict[str, str] = {
    "id": "Unique sample id, `<split>-<index>` with the index zero-padded to 7 digits.",
    "image": "The composite photo (RGB), encoded as the recipe says (JPEG or PNG); in a JPEG dataset, a composite "
             "that the realism step compressed keeps those bytes (params.jpeg_quality).",
    "alpha": "Visible-skin matte, 8-bit PNG (L): 255 = skin, 0 = occluder or background. "
    "alpha = skin * prod(1 - occluder_i).",
    "skin": "Skin matte of the clean face before occlusion, 8-bit PNG (L), 255 = skin.",
    "occluder_alpha": "Union of all occluders, 8-bit PNG (L): 1 - prod(1 - occluder_i), 255 = fully occluded.",
    "clean": "The aligned face before compositing (RGB), or null when the recipe does not store it; in a JPEG "
             "dataset, a face photo already at the dataset's size (CelebAMask-HQ at 1024 px) is stored as its "
             "source file's bytes.",
    "landmarks": "478 x 2 face-mesh landmarks of the clean face, (x, y) normalised to [0, 1] by the image size.",
    "occluders": "One struct per occluder, bottom to top: kind, subtype, asset_id, transform (2 x 3 affine, "
    "asset pixels to image pixels, row-major), opacity, mirrored, and the realism settings applied.",
    "occluded_fraction": "Share of the skin covered: 1 - sum(alpha) / sum(skin) (0 when there is no skin).",
    "face_id": "Id of the source face (stable within its source).",
    "identity": "Person id where the source knows it (identity-disjoint splits), else empty.",
    "source": "Face source kind: demo, folder or celebamask-hq.",
    "skin_source": "What made `skin`: `annotation:...` (true masks: CelebAMask-HQ parts, a sidecar mask) or "
    "`estimate:...` (an estimator: `estimate:landmarks-v7`, or `estimate:facemat:<checkpoint>:<sha256 prefix>`).",
    "seed": "Seed of this sample: SeedSequence([recipe seed, sample index]) drew every random choice.",
    "split": "train, validation or test.",
    "params": "The full sampled CompositeParams as JSON: rendering it again gives this row's image and mattes.",
}


def occluder_struct():
    from datasets import Value

    return {
        "kind": Value("string"),
        "subtype": Value("string"),
        "asset_id": Value("string"),
        "transform": [Value("float32")],
        "opacity": Value("float32"),
        "mirrored": Value("bool"),
        "depth": Value("int32"),
        "tone_transfer": Value("float32"),
        "light_match": Value("float32"),
        "shadow_opacity": Value("float32"),
        "defocus_sigma": Value("float32"),
        "motion_blur": Value("float32"),
    }


def features():
    """The ``datasets.Features`` of a CelebAMat split (imports ``datasets`` lazily)."""
    from datasets import Array2D, Features, Image, Value

    return Features(
        {
            "id": Value("string"),
            "image": Image(),
            "alpha": Image(),
            "skin": Image(),
            "occluder_alpha": Image(),
            "clean": Image(),
            "landmarks": Array2D(shape=(478, 2), dtype="float32"),
            "occluders": [occluder_struct()],
            "occluded_fraction": Value("float32"),
            "face_id": Value("string"),
            "identity": Value("string"),
            "source": Value("string"),
            "skin_source": Value("string"),
            "seed": Value("int64"),
            "split": Value("string"),
            "params": Value("string"),
        }
    )
