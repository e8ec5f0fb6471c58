import argparse

import cv2
import numpy as np
import pytest
from PIL import Image

from celebamat.commands import occluders as occ_cmd
from celebamat.errors import AssetError
from celebamat.occluders import (import_pairs, import_photos_rembg, import_rgba_folder, load_library, plan_library,
                                 render_entry)


def _ellipse_rgba(w=120, h=90):
    m = np.zeros((h, w), np.uint8)
    cv2.ellipse(m, (w // 2, h // 2), (40, 25), 20, 0, 360, 255, -1, cv2.LINE_AA)
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:] = (30, 160, 60)
    return np.dstack([rgb, m])


@pytest.fixture(scope="module")
def synthetic_hand():
    entry = next(e for e in plan_library() if e.asset_id == "hand-on_cheek-000")
    return render_entry(entry, 1234)[1]


def test_import_rgba_folder_hand_landmarks_and_shape_anchors(tmp_path, synthetic_hand):
    src = tmp_path / "src"
    src.mkdir()
    Image.fromarray(synthetic_hand).save(src / "hand.png")
    Image.fromarray(_ellipse_rgba()).save(src / "blob.png")
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(src / "rgb.png")
    assets, skipped = import_rgba_folder("hand", src, tmp_path / "out")
    assert [s[0].split("/")[-1] for s in skipped] == ["rgb.png"] and "no alpha channel" in skipped[0][1]
    by = {a.tags["original"]: a for a in assets}
    hand = by["hand.png"]
    assert "palm" in hand.anchors and hand.targets["palm"] == "mouth_center"  # mediapipe found the hand
    assert hand.exit_edge == "bottom" and hand.targets["entry"] == "exit_down"
    assert len(hand.tags["hand_landmarks"]) == 21
    blob = by["blob.png"]
    assert blob.targets == {} and blob.zones == ("face",) and blob.exit_edge is None
    cx, cy = blob.anchors["center"]
    assert abs(cx - blob.size[0] / 2) < 2 and abs(cy - blob.size[1] / 2) < 2
    lib = load_library([tmp_path / "out"])
    assert lib.skipped == [] and len(lib.assets) == 2
    a = blob.rgba()[..., 3]
    assert a[0].max() == 0 and a[-1].max() == 0 and a[:, 0].max() == 0


@pytest.mark.parametrize("k, edge", [(2, "top"), (1, "right"), (-1, "left")])
def test_imported_hand_cut_by_the_top_or_a_side_is_turned_to_enter_from_below(tmp_path, synthetic_hand, k, edge):
    # The synthetic hand's arm is cut by the bottom border; turned by k quarter turns it is cut by `edge`.
    for name, pixels in (("upright", synthetic_hand), (f"cut-{edge}", np.rot90(synthetic_hand, k))):
        (tmp_path / name).mkdir()
        Image.fromarray(np.ascontiguousarray(pixels)).save(tmp_path / name / "hand.png")
    (upright,), _ = import_rgba_folder("hand", tmp_path / "upright", tmp_path / "a")
    (turned,), _ = import_rgba_folder("hand", tmp_path / f"cut-{edge}", tmp_path / "b")
    assert turned.exit_edge == "bottom" and turned.targets["entry"] == "exit_down"
    assert turned.tags["turned_ccw"] == (-90 * k) % 360 and "turned_ccw" not in upright.tags
    assert np.array_equal(turned.rgba(), upright.rgba())  # the same asset as the upright photo's
    assert turned.anchors == upright.anchors


def test_import_pairs_folders_soften_binary_masks(tmp_path):
    for d in ("images", "masks"):
        (tmp_path / "src" / d).mkdir(parents=True)
    rgba = _ellipse_rgba()
    hard = np.where(rgba[..., 3] > 127, 255, 0).astype(np.uint8)
    Image.fromarray(rgba[..., :3]).save(tmp_path / "src" / "images" / "x1.jpg")
    Image.fromarray(hard).save(tmp_path / "src" / "masks" / "x1.png")
    assets, skipped = import_pairs("texture", tmp_path / "src", tmp_path / "out", subtype="shape")
    assert skipped == [] and len(assets) == 1
    alpha = assets[0].rgba()[..., 3]
    assert ((alpha > 0) & (alpha < 255)).sum() > 50  # a soft edge, not 0/255


def test_import_pairs_suffix_convention(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rgba = _ellipse_rgba()
    Image.fromarray(rgba[..., :3]).save(src / "3_image.png")
    Image.fromarray(rgba[..., 3]).save(src / "3_alpha.png")
    Image.fromarray(rgba[..., 3]).save(src / "3_trimap.png")
    assets, skipped = import_pairs("translucent", src, tmp_path / "out", split="test")
    assert len(assets) == 1 and assets[0].split == "test" and skipped == []
    with pytest.raises(AssetError, match="no image/alpha pairs"):
        import_pairs("hair", tmp_path / "out", tmp_path / "o2")


def test_import_pairs_reads_label_masks_right(tmp_path):
    """A 0/1 mask is a full-strength mask; a colour label map is refused by name, never read as a faint alpha."""
    for d in ("images", "masks"):
        (tmp_path / "src" / d).mkdir(parents=True)
    rgba = _ellipse_rgba()
    solid = rgba[..., 3] > 127
    Image.fromarray(rgba[..., :3]).save(tmp_path / "src" / "images" / "ones.jpg")
    Image.fromarray(solid.astype(np.uint8)).save(tmp_path / "src" / "masks" / "ones.png")  # values 0 and 1
    labels = np.zeros((*solid.shape, 3), np.uint8)
    labels[solid] = (255, 0, 0)  # red = hair, blue = face: what segmentation models write
    labels[:10] = (0, 0, 255)
    Image.fromarray(rgba[..., :3]).save(tmp_path / "src" / "images" / "labels.jpg")
    Image.fromarray(labels).save(tmp_path / "src" / "masks" / "labels.png")
    assets, skipped = import_pairs("hair", tmp_path / "src", tmp_path / "out", split="test")
    assert [a.tags["original"] for a in assets] == ["ones.jpg"]
    alpha = assets[0].rgba()[..., 3]
    assert alpha.max() == 255 and (alpha == 255).sum() > 0.8 * solid.sum()
    assert len(skipped) == 1 and skipped[0][0].endswith("labels.jpg")
    assert "colour label image (3 colours: (0, 0, 0), (0, 0, 255), (255, 0, 0))" in skipped[0][1]


def test_imported_hair_hangs_from_the_head(tmp_path):
    """Hair without a border to enter from is hung by its top from the hairline or a temple, not centred."""
    src = tmp_path / "src"
    src.mkdir()
    lock = np.zeros((200, 80), np.uint8)
    cv2.ellipse(lock, (40, 100), (25, 90), 0, 0, 360, 255, -1, cv2.LINE_AA)
    Image.fromarray(np.dstack([np.full((200, 80, 3), 60, np.uint8), lock])).save(src / "lock.png")
    (hair,), _ = import_rgba_folder("hair", src, tmp_path / "out")
    x, y = hair.anchors["top"]
    assert abs(x - hair.size[0] / 2) < 3 and y < 0.05 * hair.size[1]  # the top middle of the lock
    assert hair.zones == () and list(hair.targets) == ["top"]
    assert hair.targets["top"] in ("hairline", "temple_left", "temple_right")


def _object_photo(seed: int) -> np.ndarray:
    """A product-style photo: a shaded red mug-like object on a light, slightly graded backdrop."""
    rng = np.random.default_rng(seed)
    h, w = 320, 320
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bg = (235 - 0.05 * yy)[..., None] * np.ones(3)
    img = bg + rng.normal(0, 2, (h, w, 3))
    m = np.zeros((h, w), np.uint8)
    cv2.rectangle(m, (110, 90), (210, 250), 255, -1)
    cv2.ellipse(m, (160, 250), (50, 14), 0, 0, 180, 255, -1)
    shade = 0.55 + 0.45 * np.cos((xx - 150) / 60).clip(-1, 1)
    obj = np.stack([200 * shade, 40 * shade, 30 * shade], -1)
    img = np.where(m[..., None] > 0, obj, img)
    return np.clip(img, 0, 255).astype(np.uint8), m


def test_import_photos_with_rembg_u2netp(tmp_path, u2net_home, monkeypatch):
    monkeypatch.setenv("U2NET_HOME", str(u2net_home))
    src = tmp_path / "photos"
    src.mkdir()
    img, m = _object_photo(0)
    Image.fromarray(img).save(src / "mug.jpg")
    assets, skipped = import_photos_rembg("accessory", src, tmp_path / "out", subtype="cup")
    assert skipped == [] and len(assets) == 1
    a = assets[0]
    alpha = a.rgba()[..., 3]
    # The matte covers the object (101 x 175 px box) and little else.
    w, h = a.size
    assert 90 <= w <= 140 and 160 <= h <= 215, (w, h)
    assert alpha[h // 2 - 20:h // 2 + 20, w // 2 - 20:w // 2 + 20].mean() > 200
    assert (alpha > 128).sum() > 0.6 * (m > 0).sum()
    assert "rembg u2netp" in a.source


def test_rembg_missing_model_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("U2NET_HOME", str(tmp_path / "empty"))
    with pytest.raises(AssetError, match="fetch_u2netp.sh"):
        import_photos_rembg("accessory", tmp_path, tmp_path / "out")


def _cli(argv):
    parser = argparse.ArgumentParser()
    occ_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_import_validate_sheet(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    Image.fromarray(_ellipse_rgba()).save(src / "blob.png")
    assert _cli(["occluders", "import", "texture", str(src), "--out", str(tmp_path / "lib")]) == 0
    assert _cli(["occluders", "validate", str(tmp_path / "lib")]) == 0
    assert "1 assets valid, 0 faulty" in capsys.readouterr().out
    (tmp_path / "lib" / "bad.json").write_text("{")
    assert _cli(["occluders", "validate", str(tmp_path / "lib")]) == 1
    assert _cli(["occluders", "sheet", str(tmp_path / "lib"), "--out", str(tmp_path / "s.png")]) == 0
    with Image.open(tmp_path / "s.png") as im:
        assert im.size[0] > 200 and im.size[1] >= 128
    (tmp_path / "empty").mkdir()
    with pytest.raises(AssetError, match="nothing imported"):
        _cli(["occluders", "import", "texture", str(tmp_path / "empty"), "--out", str(tmp_path / "l2")])
    with pytest.raises(AssetError, match="not a folder"):
        _cli(["occluders", "import", "texture", str(tmp_path / "missing"), "--out", str(tmp_path / "l2")])


def test_imported_hair_cut_by_its_photo_thins_out_instead_of_entering(tmp_path):
    """A head of hair cut by the photo's bottom and side is not an occluder entering the frame: no exit edge,
    cut ends faded to nothing, hung from the head."""
    src = tmp_path / "src"
    src.mkdir()
    hair = np.zeros((160, 120), np.uint8)
    cv2.ellipse(hair, (60, 110), (70, 90), 0, 0, 360, 255, -1)  # runs off the bottom and both sides
    Image.fromarray(np.dstack([np.full((160, 120, 3), 50, np.uint8), hair])).save(src / "head.png")
    (asset,), _ = import_rgba_folder("hair", src, tmp_path / "out")
    assert asset.exit_edge is None and list(asset.targets) == ["top"]
    a = asset.rgba()[..., 3]
    rows, cols = np.nonzero(a.any(1))[0], np.nonzero(a.any(0))[0]
    # where the photo cut the hair, it now fades: its outermost row and columns are faint, not cut at 255
    assert a[rows[-1]].max() < 64 and a[:, cols[0]].max() < 64 and a[:, cols[-1]].max() < 64
    assert a[a.shape[0] // 2, a.shape[1] // 2] == 255  # full strength inside
