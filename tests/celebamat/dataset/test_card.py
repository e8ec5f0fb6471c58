"""The card's YAML is written and read by the public card classes, and says what ``datasets`` will load."""

from __future__ import annotations

import numpy as np
from _shard_rows import synthetic_rows

from celebamat.dataset.card import card_data, card_infos, read_card_yaml, write_card
from celebamat.dataset.parquet import ShardWriter
from celebamat.dataset.schema import features


def _manifest(rows: int, nbytes: int) -> dict:
    return {
        "name": "t", "splits": {"train": rows, "validation": 0, "test": 0},
        "shards": [{"split": "train", "path": "data/train-00000-of-00001.parquet", "bytes": nbytes, "rows": rows}],
        "faces": {"source": "demo", "license": "public domain"}, "statistics": {},
        "versions": {"celebamat": "0"}, "occluder_library": {"assets": 0},
        "recipe": {"splits": {"assign": "sample"}},
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
