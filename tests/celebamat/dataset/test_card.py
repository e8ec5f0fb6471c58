"""The card: its YAML is written and read by the public card classes and says what ``datasets`` will load; its
statement of what skin is and where each build's skin mattes come from."""

from __future__ import annotations

import numpy as np
from _shard_rows import synthetic_rows

from celebamat.dataset.card import SKIN_DEFINITION, card_data, card_infos, read_card_yaml, skin_provenance, write_card
from celebamat.dataset.parquet import ShardWriter
from celebamat.dataset.schema import features


def _manifest(rows: int, nbytes: int) -> dict:
    return {
        "name": "t", "splits": {"train": rows, "validation": 0, "test": 0},
        "shards": [{"split": "train", "path": "data/train-00000-of-00001.parquet", "bytes": nbytes, "rows": rows}],
        "faces": {"source": "demo", "license": "public domain"}, "statistics": {},
        "versions": {"celebamat": "0"}, "occluder_library": {"assets": 0},
        "recipe": {"splits": {"assign": "sample"}, "faces": {"source": "demo", "options": {}}},
    }


def test_card_declares_what_load_dataset_reads(tmp_path):
    import datasets

    shard = tmp_path / "data" / "train-00000-of-00001.parquet"
    shard.parent.mkdir()
    with ShardWriter(shard, features()) as writer:
        for row in synthetic_rows(3):
            writer.write(row)
    manifest = _manifest(3, shard.stat().st_size)
    path = write_card(tmp_path, manifest)
    assert read_card_yaml(path) == card_data(manifest).to_dict()
    infos = card_infos(path)
    assert list(infos) == ["default"] and infos["default"].features == features()
    assert infos["default"].splits["train"].num_examples == 3
    # The public loader takes the same features and split sizes from the card.
    builder = datasets.load_dataset_builder(str(tmp_path))
    assert builder.info.features == features() and builder.info.splits["train"].num_examples == 3
    ds = datasets.load_dataset(str(tmp_path), split="train")
    assert ds.num_rows == 3 and np.asarray(ds[0]["landmarks"]).shape == (478, 2)


def test_yaml_lists_features_in_the_hub_format(tmp_path):
    meta = card_data(_manifest(3, 10)).to_dict()
    by_name = {f["name"]: f for f in meta["dataset_info"]["features"]}
    # The Hub's list form: one entry per column, images as `dtype: image`, Array2D with its shape.
    assert by_name["alpha"] == {"name": "alpha", "dtype": "image"}
    assert by_name["landmarks"]["dtype"] == {"array2_d": {"shape": [478, 2], "dtype": "float32"}}
    assert meta["configs"] == [{"config_name": "default",
                                "data_files": [{"split": "train", "path": "data/train-*.parquet"}]}]
    assert meta["license"] == "cc0-1.0"
    assert read_card_yaml(write_card(tmp_path, _manifest(3, 10))) == meta


def test_skin_definition_names_what_is_and_is_not_skin():
    for part in ("beard and moustache", "brows", "lids and lashes", "nose", "teeth"):
        assert part in SKIN_DEFINITION
    assert "Not skin: the hair of the scalp" in SKIN_DEFINITION and "glasses" in SKIN_DEFINITION


def test_skin_provenance_says_annotated_or_estimated_and_by_what():
    exact = skin_provenance({"source": "celebamask-hq:/data/CelebAMask-HQ", "options": {}})
    assert "exact" in exact and "estimated" not in exact and "annotation:celebamask-hq" in exact
    demo = skin_provenance({"source": "demo", "options": {"variants": ["m0"]}})
    assert "**estimated**" in demo and "estimate:landmarks-v7" in demo and "sidecar" not in demo
    folder = skin_provenance({"source": "folder:photos", "options": {}})  # folder photos: the bundled network
    assert "sidecar mask" in folder and "bundled model (`bundled`" in folder and "landmarks-v7" not in folder
    hand_written = skin_provenance({"source": "folder:photos", "options": {"skin_model": "landmarks"}})
    assert "estimate:landmarks-v7" in hand_written and "FaceMat" not in hand_written
    learned = skin_provenance({"source": "folder:photos", "options": {"skin_model": "runs/t/teacher.safetensors"}})
    assert "FaceMat checkpoint (`runs/t/teacher.safetensors`" in learned and "landmarks-v7" not in learned
