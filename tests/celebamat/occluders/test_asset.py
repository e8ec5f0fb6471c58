import json

import numpy as np
import pytest
from PIL import Image

from celebamat.errors import AssetError
from celebamat.occluders import OccluderLibrary, load_library, validate_metadata, write_asset
from celebamat.occluders.asset import visible_box


def _meta(**kw):
    m = {"id": "acc-x-001", "kind": "accessory", "subtype": "eyeglasses", "anchors": {"lens_left": [10, 10],
         "lens_right": [30, 10]}, "targets": {"lens_left": "eye_left", "lens_right": "eye_right"},
         "scale": {"measure": "iod", "length": 20.0, "range": [0.95, 1.05]}, "rotation": [-3, 3], "mirror": True,
         "zones": [], "layer": 35, "split": "train", "license": "CC0-1.0", "source": "test"}
    m.update(kw)
    return m


def _rgba(w=40, h=20):
    a = np.zeros((h, w, 4), np.uint8)
    a[4:16, 4:36] = (200, 100, 50, 255)
    a[3, 4:36, 3] = 128
    return a


def test_validate_accepts_good_and_names_faults():
    m = _meta(file="acc-x-001.png", size=[40, 20])
    assert validate_metadata(m, (40, 20)) == []
    bad = _meta(file="a.png", size=[40, 20], kind="hat", targets={"lens_left": "eyeball"},
                anchors={"lens_left": [50, 10]}, split="val")
    faults = " | ".join(validate_metadata(bad, (40, 20)))
    assert "kind 'hat'" in faults and "unknown target name 'eyeball'" in faults
    assert "outside the image" in faults and "split 'val'" in faults
    assert validate_metadata({"id": "x"}, None)[0].startswith("missing key")
    exit_meta = _meta(file="a.png", size=[40, 20], anchors={"palm": [20, 10], "arm": [20, 12]},
                      targets={"palm": "mouth_center", "arm": "exit_down"}, exit_edge="bottom")
    assert any("not on the bottom border" in f for f in validate_metadata(exit_meta, (40, 20)))


def test_write_and_load_roundtrip(tmp_path):
    a = write_asset(tmp_path, _meta(), _rgba())
    lib = load_library([tmp_path])
    assert [x.id for x in lib.assets] == ["acc-x-001"] and lib.skipped == []
    got = lib.get("acc-x-001")
    assert got == a and got.size == (40, 20)
    assert got.rgba().shape == (20, 40, 4) and got.rgba().dtype == np.uint8
    assert np.array_equal(got.rgba(), _rgba())
    assert lib.by_kind("accessory", "train") == [got] and lib.by_kind("accessory", "test") == []
    with pytest.raises(AssetError, match="no occluder asset"):
        lib.get("nope")


def test_checked_pixels_are_kept_and_unchecked_ones_read_on_use(tmp_path):
    # A checked library has decoded every image already: rgba() must not read the file a second time (a build
    # worker would decode the whole library twice).
    write_asset(tmp_path, _meta(), _rgba())
    checked, lazy = load_library([tmp_path]), load_library([tmp_path], check_pixels=False)
    (tmp_path / "acc-x-001.png").unlink()
    assert np.array_equal(checked.get("acc-x-001").rgba(), _rgba())
    with pytest.raises(FileNotFoundError):
        lazy.get("acc-x-001").rgba()


def test_a_library_keeps_checked_pixels_only_up_to_its_budget(tmp_path, monkeypatch):
    # A large imported set would otherwise sit whole in every worker's memory.
    import celebamat.occluders.asset as asset_module

    write_asset(tmp_path, _meta(), _rgba())
    write_asset(tmp_path, _meta(id="acc-x-002"), _rgba())
    monkeypatch.setattr(asset_module, "KEEP_PIXELS_BYTES", _rgba().nbytes)  # room for one
    lib = load_library([tmp_path])
    for name in ("acc-x-001", "acc-x-002"):
        (tmp_path / f"{name}.png").unlink()
    assert np.array_equal(lib.get("acc-x-001").rgba(), _rgba())
    with pytest.raises(FileNotFoundError):
        lib.get("acc-x-002").rgba()


def test_bad_assets_are_reported_and_rest_loads(tmp_path):
    write_asset(tmp_path, _meta(), _rgba())
    # no alpha channel
    Image.fromarray(np.zeros((20, 40, 3), np.uint8)).save(tmp_path / "rgb.png")
    (tmp_path / "rgb.json").write_text(json.dumps(_meta(id="rgb", file="rgb.png", size=[40, 20])))
    # empty alpha
    Image.fromarray(np.zeros((20, 40, 4), np.uint8)).save(tmp_path / "empty.png")
    (tmp_path / "empty.json").write_text(json.dumps(_meta(id="empty", file="empty.png", size=[40, 20])))
    # broken JSON
    Image.fromarray(_rgba()).save(tmp_path / "broken.png")
    (tmp_path / "broken.json").write_text("{\"id\": \"broken\", ")
    # anchor outside, unknown target
    Image.fromarray(_rgba()).save(tmp_path / "out.png")
    (tmp_path / "out.json").write_text(json.dumps(_meta(id="out", file="out.png", size=[40, 20],
                                                        anchors={"lens_left": [99, 5], "lens_right": [30, 10]})))
    Image.fromarray(_rgba()).save(tmp_path / "tgt.png")
    (tmp_path / "tgt.json").write_text(json.dumps(_meta(id="tgt", file="tgt.png", size=[40, 20],
                                                        targets={"lens_left": "left_eyeball"})))
    lib = load_library([tmp_path])
    assert [a.id for a in lib.assets] == ["acc-x-001"]
    faults = {p.split("/")[-1]: f for p, f in lib.skipped}
    assert set(faults) == {"rgb.json", "empty.json", "broken.json", "out.json", "tgt.json"}
    assert "no alpha channel" in faults["rgb.json"] and "rgb.png" in faults["rgb.json"]
    assert "empty alpha" in faults["empty.json"]
    assert "broken JSON" in faults["broken.json"]
    assert "outside the image" in faults["out.json"]
    assert "unknown target name 'left_eyeball'" in faults["tgt.json"]
    with pytest.raises(AssetError, match="invalid occluder assets"):
        load_library([tmp_path], strict=True)


def test_by_kind_rejects_unknown_kind():
    with pytest.raises(AssetError, match="unknown occluder kind"):
        OccluderLibrary([]).by_kind("hat")


def test_visible_box_holds_every_visible_pixel_and_keeps_the_limbs_edge():
    alpha = np.zeros((40, 30), np.uint8)
    alpha[5:20, 8:12] = 200
    alpha[25, 3] = 1  # one faint pixel counts
    assert visible_box(alpha) == (3, 5, 12, 26)
    assert visible_box(alpha, "bottom") == (3, 5, 12, 40)
    assert visible_box(alpha, "top") == (3, 0, 12, 26)
    assert visible_box(alpha, "left") == (0, 5, 12, 26)
    assert visible_box(alpha, "right") == (3, 5, 30, 26)
    assert visible_box(np.zeros((7, 9), np.uint8)) == (0, 0, 9, 7)  # nothing visible: the whole asset


def test_an_assets_visible_box_is_kept_per_edge(tiny_library):
    asset = next(a for a in tiny_library if a.rgba()[..., 3].min() == 0)
    alpha = asset.rgba()[..., 3]
    assert asset.visible_box() == visible_box(alpha)
    assert asset.visible_box("bottom") == visible_box(alpha, "bottom")
    assert asset.visible_box() is asset.visible_box()  # computed once
