"""The paper-scale recipe on a CelebAMask-HQ-layout folder: identity-disjoint splits, skips, late failures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from celebamat.dataset.build import build_dataset
from celebamat.dataset.recipe import load_recipe
from celebamat.dataset.verify import verify_dataset
from celebamat.faces.celebamask_layout import write_celebamask_layout


def _rows(out: Path, split: str) -> list[dict]:
    import pyarrow.parquet as pq

    cols = ["face_id", "identity", "occluders"]
    return [r for p in sorted((out / "data").glob(f"{split}-*.parquet")) for r in pq.read_table(p, columns=cols)
            .to_pylist()]


def _shards(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))}


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> Path:
    """24 faces, two per identity; face 7 lacks its skin mask, face 9 wears big glasses."""
    root = write_celebamask_layout(tmp_path_factory.mktemp("celebamask") / "CelebAMask-HQ", 24, size=512)
    ann = root / "CelebAMask-HQ-mask-anno" / "0"
    (ann / "00007_skin.png").unlink()
    glasses = np.zeros((512, 512), np.uint8)
    glasses[200:300, 120:400] = 255
    Image.fromarray(glasses).save(ann / "00009_eye_g.png")
    return root


@pytest.fixture(scope="module")
def clean_build(tmp_path_factory, layout):
    recipe = load_recipe("celebamat-512").with_overrides(faces=f"celebamask-hq:{layout}", samples=16)
    out = tmp_path_factory.mktemp("build") / "ds"
    return recipe, out, build_dataset(recipe, out, workers=1, progress=False)


def test_paper_recipe_builds_identity_disjoint_splits(clean_build):
    recipe, out, report = clean_build
    assert report.total == 16 and set(report.splits) == {"train", "validation", "test"}
    idents = {s: {r["identity"] for r in _rows(out, s)} for s in report.splits}
    assert all(idents.values())
    assert not idents["train"] & idents["test"] and not idents["train"] & idents["validation"]
    assert not idents["validation"] & idents["test"]
    # One composite per face.
    faces = [r["face_id"] for s in report.splits for r in _rows(out, s)]
    assert len(faces) == len(set(faces)) == 16
    reasons = {s["face"]: s["reason"] for s in report.skipped}
    assert reasons == {"celebamask-hq:00007": "mask missing", "celebamask-hq:00009": "already occluded"}
    test_assets = [o["asset_id"] for r in _rows(out, "test") for o in r["occluders"]]
    train_assets = {o["asset_id"] for r in _rows(out, "train") for o in r["occluders"]}
    assert recipe.synth.occluders.test_asset_splits == ("test",) and not set(test_assets) & train_assets
    assert verify_dataset(out).ok


def test_faces_that_fail_after_the_scan_are_replaced_and_reported(tmp_path, layout, clean_build):
    recipe, ref, _ = clean_build
    used = sorted({r["face_id"] for r in _rows(ref, "train")})
    truncated, blank = used[0], used[1]
    root = tmp_path / "CelebAMask-HQ"
    shutil.copytree(layout, root)
    photo = lambda key: root / "CelebA-HQ-img" / f"{int(key.split(':')[1])}.jpg"  # noqa: E731
    data = photo(truncated).read_bytes()
    photo(truncated).write_bytes(data[: len(data) // 3])
    Image.fromarray(np.full((512, 512, 3), 128, np.uint8)).save(photo(blank))
    bad = recipe.with_overrides(faces=f"celebamask-hq:{root}")

    one = build_dataset(bad, tmp_path / "one", workers=1, progress=False)
    two = build_dataset(bad, tmp_path / "two", workers=2, progress=False)
    assert _shards(tmp_path / "one") == _shards(tmp_path / "two")
    assert one.total == two.total == 16
    late = {s["face"]: s for s in one.skipped if s.get("rows_replaced")}
    assert set(late) == {truncated, blank}
    assert late[truncated]["reason"] == "unreadable file" and late[blank]["reason"] == "no face"
    rows = _rows(tmp_path / "one", "train")
    assert not {truncated, blank} & {r["face_id"] for r in rows}
    # Replacements come from the same split, so the splits stay identity-disjoint.
    test_ids = {r["identity"] for r in _rows(tmp_path / "one", "test")}
    assert not {r["identity"] for r in rows} & test_ids
    manifest = json.loads((tmp_path / "one" / "manifest.json").read_text())
    assert {s["face"] for s in manifest["skipped"]} >= {truncated, blank}
    assert "use another face" in one.summary()
    assert verify_dataset(tmp_path / "one").ok
