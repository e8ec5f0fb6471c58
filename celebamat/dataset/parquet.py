"""Parquet shards written with pyarrow's public ``ParquetWriter``, typed by the dataset's ``datasets.Features``.

The file is what ``datasets`` itself writes for a dataset with these features, so ``datasets.load_dataset``
reads it back with the same features (``Image`` columns decode to PIL images, ``Array2D`` to 2-D lists):

- the Arrow schema is ``Features.arrow_schema``: the features' Arrow types (``Array2D`` as ``datasets``'
  extension type) plus the ``huggingface`` schema metadata that records the features themselves;
- image bytes are stored uncompressed with PLAIN encoding (JPEG and PNG do not compress further, and plain
  pages let the Hub's storage deduplicate them), every other column is dictionary-encoded and Snappy-compressed;
- pages are cut by content-defined chunking, so a shard that changes in a few rows shares most of its pages
  with the old one when re-uploaded;
- a row group holds at most :data:`ROW_GROUP_ROWS` rows (one group for a default 100-row shard).

The bytes depend only on the rows, the features and the pyarrow version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

#: Rows per row group (and per in-memory batch): what ``datasets`` used for CelebAMat shards.
ROW_GROUP_ROWS = 100
#: Content-defined chunking of pages (pyarrow's option; these are the values ``datasets`` uses for the Hub).
CDC_OPTIONS: dict[str, int] = {"min_chunk_size": 256 * 1024, "max_chunk_size": 1024 * 1024, "norm_level": 0}


def _leaf_paths(path: str, pa_type: pa.DataType) -> list[str]:
    """Parquet leaf column paths under ``path`` (``col.list.element.field``), as parquet names them."""
    if isinstance(pa_type, pa.ExtensionType):
        pa_type = pa_type.storage_type
    if pa.types.is_struct(pa_type):
        return [leaf for f in pa_type for leaf in _leaf_paths(f"{path}.{f.name}", f.type)]
    if pa.types.is_list(pa_type) or pa.types.is_large_list(pa_type) or pa.types.is_fixed_size_list(pa_type):
        return _leaf_paths(f"{path}.list.element", pa_type.value_type)
    return [path]


def _is_encoded_file(feature: Any) -> bool:
    """Whether a feature stores already-compressed file bytes (an ``Image`` or ``Audio`` column)."""
    from datasets import Audio, Image

    return isinstance(feature, (Image, Audio))


def column_options(features: Any, schema: pa.Schema) -> dict[str, Any]:
    """Per-leaf ``compression``, ``use_dictionary`` and ``column_encoding`` arguments of ``pq.ParquetWriter``."""
    compression: dict[str, str] = {}
    use_dictionary: list[str] = []
    encoding: dict[str, str] = {}
    for field in schema:
        raw = _is_encoded_file(features[field.name])
        for leaf in _leaf_paths(field.name, field.type):
            compression[leaf] = "none" if raw else "snappy"
            if raw:
                encoding[leaf] = "PLAIN"
            else:
                use_dictionary.append(leaf)
    return {"compression": compression, "use_dictionary": use_dictionary, "column_encoding": encoding}


def _tensor_array(values: list[Any], ext_type: pa.ExtensionType) -> pa.Array:
    """An extension array (``datasets``' ``Array2D``..``Array5D``) from equal-shaped numpy arrays, built from one
    flat buffer instead of per-element Python lists."""
    levels = []  # list types from the outermost in
    t = ext_type.storage_type
    while pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        levels.append(t)
        t = t.value_type
    if any(v is None for v in values):
        raise ValueError(f"a {ext_type} column cannot hold nulls")
    stacked = np.stack([np.asarray(v, dtype=t.to_pandas_dtype()) for v in values])
    want = getattr(ext_type, "shape", None)  # datasets' ArrayND types declare their shape
    if stacked.ndim != len(levels) + 1 or (want is not None and stacked.shape[1:] != tuple(want)):
        raise ValueError(f"values of shape {stacked.shape[1:]} do not fit {ext_type} of shape {want}")
    arr: pa.Array = pa.array(stacked.reshape(-1), type=t)
    count = stacked.size
    for level, size in zip(reversed(levels), reversed(stacked.shape[1:])):
        count //= size
        if pa.types.is_fixed_size_list(level):
            arr = pa.FixedSizeListArray.from_arrays(arr, type=level)
        else:
            off_type = np.int64 if pa.types.is_large_list(level) else np.int32
            offsets = pa.array(np.arange(0, (count + 1) * size, size, dtype=off_type))
            arr = (pa.LargeListArray if pa.types.is_large_list(level) else pa.ListArray).from_arrays(
                offsets, arr, type=level)
    return pa.ExtensionArray.from_storage(ext_type, arr)


def rows_to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """A table of ``rows`` (dicts keyed by column) in ``schema``; every column must be present in every row."""
    arrays = []
    for field in schema:
        values = [row[field.name] for row in rows]
        if isinstance(field.type, pa.ExtensionType):
            arrays.append(_tensor_array(values, field.type))
        else:
            arrays.append(pa.array(values, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


class ShardWriter:
    """Stream rows into one parquet file: ``write(row)`` per row, then ``close()`` (or use it as a context).

    Args:
        path: the file to write (created or truncated).
        features: the ``datasets.Features`` of the rows; their schema and metadata go into the file.
        row_group_rows: rows per row group.
    """

    def __init__(self, path: str | Path, features: Any, *, row_group_rows: int = ROW_GROUP_ROWS) -> None:
        self.schema: pa.Schema = features.arrow_schema
        self.row_group_rows = int(row_group_rows)
        self.rows_written = 0
        self._pending: list[dict[str, Any]] = []
        self._writer = pq.ParquetWriter(
            str(path), self.schema, use_content_defined_chunking=dict(CDC_OPTIONS), write_page_index=True,
            **column_options(features, self.schema),
        )
        # Records the chunking in the footer, as `datasets` does, for readers that want to know.
        self._writer.add_key_value_metadata({"content_defined_chunking": json.dumps(CDC_OPTIONS)})

    def write(self, row: dict[str, Any]) -> None:
        self._pending.append(row)
        if len(self._pending) >= self.row_group_rows:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(rows_to_table(self._pending, self.schema), row_group_size=self.row_group_rows)
            self.rows_written += len(self._pending)
            self._pending = []

    def close(self) -> int:
        """Write the pending rows and the footer; returns the number of rows written."""
        if self._writer is not None:
            try:
                self._flush()
            finally:
                self._writer.close()
                self._writer = None
        return self.rows_written

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        elif self._writer is not None:  # the caller discards the file: just release it
            self._writer.close()
            self._writer = None
