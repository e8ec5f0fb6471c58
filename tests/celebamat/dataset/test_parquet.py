"""Shards written by pyarrow's public ParquetWriter read back through ``datasets`` with CelebAMat's features."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from _shard_rows import synthetic_rows

from celebamat.dataset.parquet import CDC_OPTIONS, ShardWriter, rows_to_table
from celebamat.dataset.schema import features


def test_shards_load_through_datasets_with_the_same_features(tmp_path):
    import datasets

    rows = synthetic_rows(5)
    (tmp_path / "data").mkdir()
    with ShardWriter(tmp_path / "data" / "train-00000-of-00001.parquet", features()) as writer:
        for row in rows:
            writer.write(row)
    ds = datasets.load_dataset(str(tmp_path), split="train")
    assert ds.features == features()  # from the file's schema metadata alone (there is no card here)
    got = ds[1]
    assert got["image"].mode == "RGB" and got["alpha"].mode == "L"
    assert np.asarray(got["alpha"]).max() == 1
    np.testing.assert_array_equal(np.asarray(got["landmarks"], np.float32), rows[1]["landmarks"])
    assert got["clean"] is not None and ds[2]["clean"] is None
    assert got["seed"] == 2**40 + 1 and got["occluders"][0]["mirrored"] is True and ds[3]["occluders"] == []
    assert got["occluders"][0]["transform"] == [1.0, 0.0, 2.5, 0.0, 1.0, -1.0]


def test_row_groups_encodings_and_metadata(tmp_path):
    path = tmp_path / "x.parquet"
    with ShardWriter(path, features(), row_group_rows=4) as writer:
        for row in synthetic_rows(10):
            writer.write(row)
    pf = pq.ParquetFile(path)
    meta = pf.metadata
    assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == [4, 4, 2]
    cols = {meta.row_group(0).column(c).path_in_schema: meta.row_group(0).column(c) for c in range(meta.num_columns)}
    # Encoded images are stored as they are (they do not compress); everything else is compressed.
    assert cols["image.bytes"].compression == "UNCOMPRESSED" and "RLE_DICTIONARY" not in cols["image.bytes"].encodings
    assert cols["params"].compression == "SNAPPY" and "RLE_DICTIONARY" in cols["params"].encodings
    assert cols["landmarks.list.element.list.element"].compression == "SNAPPY"
    assert b"huggingface" in pf.schema_arrow.metadata  # what datasets reads the features from
    assert json.loads(meta.metadata[b"content_defined_chunking"]) == CDC_OPTIONS


def test_same_rows_give_the_same_bytes(tmp_path):
    rows = synthetic_rows(7)
    for name in ("a", "b"):
        with ShardWriter(tmp_path / f"{name}.parquet", features()) as writer:
            for row in rows:
                writer.write(row)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


@pytest.mark.parametrize("shapes", [[(478, 2), (478, 3)], [(478, 3), (478, 3)], [(2, 478), (2, 478)]])
def test_landmark_arrays_of_another_shape_are_refused(shapes):
    rows = synthetic_rows(2)
    for row, shape in zip(rows, shapes):
        row["landmarks"] = np.zeros(shape, np.float32)
    with pytest.raises(ValueError):
        rows_to_table(rows, features().arrow_schema)
