"""verify_dataset finds each kind of fault and names it."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from celebamat.dataset.build import build_dataset
from celebamat.dataset.recipe import load_recipe
from celebamat.dataset.verify import verify_dataset
from celebamat.utils.io import sha256_file


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_library_dir, recipe_factory):
    root = tmp_path_factory.mktemp("verify")
    out = root / "ds"
    build_dataset(load_recipe(recipe_factory(root / "r.toml", tiny_library_dir, train=4)), out, progress=False)
    return out


@pytest.fixture
def copy(built, tmp_path):
    dst = tmp_path / "ds"
    shutil.copytree(built, dst)
    return dst


def _rewrite_shard(ds, name, mutate):
    """Apply ``mutate(rows)`` to a shard and fix its manifest checksum, so only the row content is wrong."""
    path = ds / "data" / name
    table = pq.read_table(path)
    rows = table.to_pylist()
    mutate(rows)
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    manifest = json.loads((ds / "manifest.json").read_text())
    for s in manifest["shards"]:
        if s["path"] == f"data/{name}":
            s["sha256"], s["bytes"] = sha256_file(path), path.stat().st_size
    (ds / "manifest.json").write_text(json.dumps(manifest))


def _png(arr):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_a_good_build_passes(built):
    r = verify_dataset(built)
    assert r.ok and r.faults == [] and r.checked == {"shards": 3, "rows": 10}


def test_checksum_and_unlisted_and_missing_files(copy):
    shard = copy / "data/test-00000-of-00001.parquet"
    shard.write_bytes(shard.read_bytes() + b"x")
    (copy / "data/extra-00000-of-00001.parquet").write_bytes(b"")
    (copy / "data/validation-00000-of-00001.parquet").unlink()
    faults = "\n".join(verify_dataset(copy).faults)
    assert "[checksum] data/test-00000-of-00001.parquet" in faults
    assert "[unlisted-file] data/extra-00000-of-00001.parquet" in faults
    assert "[missing-shard] data/validation-00000-of-00001.parquet" in faults


def test_alpha_semantics_faults_are_found(copy):
    def break_rows(rows):
        skin = np.asarray(Image.open(io.BytesIO(rows[0]["skin"]["bytes"])))
        rows[0]["alpha"]["bytes"] = _png(np.where(skin > 0, 1, 0).astype(np.uint8) * 255 // 255)  # 0/1 matte
        rows[1]["alpha"]["bytes"] = _png(np.full_like(skin, 255))  # alpha above skin
        rows[2]["image"]["bytes"] = b"garbage"

    _rewrite_shard(copy, "train-00000-of-00001.parquet", break_rows)
    report = verify_dataset(copy)
    text = "\n".join(report.faults)
    assert not report.ok
    assert "[alpha-above-skin]" in text and "[undecodable-image]" in text and "[alpha-not-skin]" in text


def test_card_must_match_the_shards(copy):
    card = (copy / "README.md").read_text().replace("num_examples: 3", "num_examples: 30", 1)
    (copy / "README.md").write_text(card)
    assert any(f.startswith("[card-counts]") for f in verify_dataset(copy).faults)
    # A card whose features say something else than the shards (landmarks of another shape).
    assert "\n        - 478\n" in card
    (copy / "README.md").write_text(card.replace("\n        - 478\n", "\n        - 477\n", 1))
    assert any(f.startswith("[card-features]") for f in verify_dataset(copy).faults)
    (copy / "README.md").unlink()
    assert any(f.startswith("[missing-card]") for f in verify_dataset(copy).faults)


def test_not_a_dataset(tmp_path):
    assert verify_dataset(tmp_path / "nope").faults[0].startswith("[missing-folder]")
    assert verify_dataset(tmp_path).faults[0].startswith("[missing-manifest]")
