"""Dataset presets on miniature copies of each dataset's layout, written by the tests."""

import argparse

import cv2
import numpy as np
import pytest
from PIL import Image

from celebamat.commands import occluders as occ_cmd
from celebamat.errors import AssetError
from celebamat.occluders import load_library, plan_library, render_entry
from celebamat.occluders.hand_pose import hand_metadata, upright_hand
from celebamat.occluders.matting import soft_edge_share
from celebamat.occluders.presets import PRESETS, import_preset
from celebamat.occluders.presets.mattes import figaro_class
from celebamat.occluders.presets.textures import random_shape

OBJ = (40, 30, 150)


def _save(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def _blob(side=64, soft=False, seed=0):
    """(rgb, alpha): a dark-blue ellipse on a noisy yellow background; alpha binary or soft (a matting set)."""
    rng = np.random.default_rng(seed)
    hi = np.zeros((side * 4, side * 4), np.float32)
    cv2.ellipse(hi, (side * 2, side * 2), (side + 20, side - 10), 15, 0, 360, 1.0, -1)
    cover = cv2.resize(hi, (side, side), interpolation=cv2.INTER_AREA)
    back = np.array([230, 215, 90]) + rng.normal(0, 5, (side, side, 3))
    rgb = np.clip(cover[..., None] * OBJ + (1 - cover[..., None]) * back, 0, 255).astype(np.uint8)
    a = cover if soft else (cover > 0.5).astype(np.float32)
    if soft:
        a = np.where(a > 0.5, 0.6, a)  # mostly partial: a translucent object
    return rgb, np.clip(np.rint(a * 255), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def hand_rgba():
    entry = next(e for e in plan_library() if e.asset_id == "hand-on_cheek-000")
    return render_entry(entry, 1234)[1]


def test_every_preset_has_licence_source_and_layout():
    assert set(PRESETS) == {"hiu-dmtl", "11k-hands", "egohands", "sim", "am-2k", "composition-1k", "figaro1k", "dtd"}
    for p in PRESETS.values():
        assert p.license and p.url.startswith("http") and p.layout


def test_sim_classes_splits_and_skips(tmp_path):
    src = tmp_path / "SIMD"
    for cls, n in (("fire", 2), ("net", 1), ("hair_easy", 1)):
        for i in range(n):
            rgb, a = _blob(soft=True, seed=i)
            _save(src / cls / "fg" / f"{cls}{i}.png", rgb)
            _save(src / cls / "alpha" / f"{cls}{i}.png", a)
    _save(src / "net" / "fg" / "lonely.png", _blob()[0])
    (src / "SIMD_composition_test_filelist.txt").write_text("fire:fire1.png:bg.jpg\n")
    rep = import_preset("sim", src, tmp_path / "out", progress=False)
    got = {(a.tags["class"], a.kind, a.subtype, a.split) for a in rep.assets}
    assert got == {("fire", "translucent", "fire", "train"), ("fire", "translucent", "fire", "test"),
                   ("net", "translucent", "net", "train")}
    reasons = {k.split("/")[-1]: r for k, r in rep.skipped}
    assert "not an occluder" in reasons["hair_easy"] and "no alpha" in reasons["lonely.png"]
    lib = load_library(tmp_path / "out")
    assert len(lib) == 3 and all("Semantic Image Matting" in a.source and "SIMD" in a.license for a in lib)
    a = lib.assets[0].rgba()[..., 3]
    assert ((a > 0) & (a < 255)).mean() > 0.2  # the dataset's soft alpha is kept
    assert (tmp_path / "out" / "sim-skipped.tsv").is_file()


def test_figaro_binary_masks_are_matted_and_classed(tmp_path):
    root = tmp_path / "Figaro1k"
    for n, part in ((3, "Training"), (160, "Training"), (1000, "Testing")):
        rgb, m = _blob(seed=n)
        _save(root / "Original" / part / f"Frame{n:05d}-org.jpg", rgb)
        Image.fromarray(m).convert("1").save(_mk(root / "GT" / part) / f"Frame{n:05d}-gt.pbm")
    _save(root / "Original" / "Testing" / "Frame00999-org.jpg", _blob()[0])
    rep = import_preset("figaro1k", tmp_path, tmp_path / "out", progress=False)
    got = sorted((a.subtype, a.split) for a in rep.assets)
    assert got == [("short", "test"), ("straight", "train"), ("wavy", "train")]
    assert all(a.kind == "hair" for a in rep.assets)
    assert [r for _, r in rep.skipped] == ["no Frame00999-gt mask in " + str(root / "GT" / "Testing")]
    for a in rep.assets:
        assert soft_edge_share(a.rgba()[..., 3]) > 0.3  # refined by matting, not a hard mask
        assert a.targets == {"crown": "hairline"} and a.anchors["crown"][1] < a.size[1] * 0.2  # hangs from the top
        assert a.tags["recolor"] == "hair" and a.tags["class"] == a.subtype
        rgba = a.rgba()
        edge = (rgba[..., 3] > 40) & (rgba[..., 3] < 215)
        col = rgba[..., :3][edge].astype(float).mean(0)  # no halo: the object's blue, not the yellow behind it
        assert np.linalg.norm(col - OBJ) < 0.35 * np.linalg.norm(np.array([230, 215, 90]) - OBJ)
    assert figaro_class("Frame00150") == "straight" and figaro_class("Frame00151") == "wavy"


def _mk(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_composition1k_and_am2k_layouts(tmp_path):
    c = tmp_path / "c1k" / "Combined_Dataset"
    solid, soft = _blob(seed=1), _blob(soft=True, seed=2)
    for part, name, (rgb, a) in (("Training_set", "solid", solid), ("Test_set", "glass", soft)):
        _save(c / part / "Adobe-licensed images" / "fg" / f"{name}.jpg", rgb)
        _save(c / part / "Adobe-licensed images" / "alpha" / f"{name}.jpg", a)
    rep = import_preset("composition-1k", tmp_path / "c1k", tmp_path / "o1", progress=False)
    assert sorted((a.kind, a.subtype, a.split) for a in rep.assets) == [
        ("accessory", "object", "train"), ("translucent", "matte", "test")]
    m = tmp_path / "am" / "AM-2k"
    for part in ("train", "validation"):
        rgb, a = _blob(seed=3)
        _save(m / part / "original" / f"m_{part}.jpg", rgb)
        _save(m / part / "mask" / f"m_{part}.png", a)
    rep = import_preset("am-2k", tmp_path / "am", tmp_path / "o2", progress=False)
    assert sorted((a.subtype, a.split) for a in rep.assets) == [("animal", "test"), ("animal", "train")]


def test_dtd_shapes_are_partly_transparent_and_reproducible(tmp_path):
    rng = np.random.default_rng(0)
    for cat in ("banded", "dotted"):
        for i in (1, 2):
            _save(tmp_path / "dtd" / "images" / cat / f"{cat}_{i:04d}.jpg", rng.integers(0, 255, (80, 90, 3), np.uint8))
    (tmp_path / "dtd" / "labels").mkdir()
    (tmp_path / "dtd" / "labels" / "test1.txt").write_text("dotted/dotted_0002.jpg\n")
    rep = import_preset("dtd", tmp_path, tmp_path / "o1", progress=False)
    assert len(rep.assets) == 4 and {a.kind for a in rep.assets} == {"texture"}
    assert {a.subtype for a in rep.assets} == {"banded", "dotted"}
    assert [a.tags["file"] for a in rep.assets if a.split == "test"] == ["dotted/dotted_0002.jpg"]
    for a in rep.assets:
        alpha = a.rgba()[..., 3]
        assert alpha.max() > 0 and ((alpha > 0) & (alpha < 255)).mean() > 0.05
    import_preset("dtd", tmp_path, tmp_path / "o2", progress=False)
    for a in rep.assets:
        assert (tmp_path / "o2" / a.path.name).read_bytes() == a.path.read_bytes()
    rep3 = import_preset("dtd", tmp_path, tmp_path / "o3", workers=2, limit=3, progress=False)
    assert [a.id for a in rep3.assets] == [a.id for a in rep.assets][:3]  # reader order, whatever the workers
    assert sorted(p.name for p in (tmp_path / "o3").glob("*.png")) == sorted(a.path.name for a in rep3.assets)
    for a in rep3.assets:
        assert a.path.read_bytes() == (tmp_path / "o1" / a.path.name).read_bytes()
    a1, a2 = random_shape(np.random.default_rng(5), 64), random_shape(np.random.default_rng(5), 64)
    assert np.array_equal(a1, a2)


def test_upright_hand_leaves_through_the_bottom(hand_rgba):
    from celebamat.occluders.importers import _hand_landmarks

    turned = np.ascontiguousarray(np.rot90(hand_rgba, 2))  # upside down: fingers pointing down
    lm = _hand_landmarks(turned)
    assert lm is not None
    up, lm2 = upright_hand(turned, lm)
    assert lm2[9, 1] < lm2[0, 1]  # middle knuckle above the wrist: fingers up
    assert (up[-1, :, 3] > 64).any()  # the forearm reaches the bottom border
    meta, subtype = hand_metadata(up, lm2, "x")
    assert meta["exit_edge"] == "bottom" and meta["targets"]["entry"] in ("exit_down", "exit_side")
    assert meta["anchors"]["entry"][1] == up.shape[0] and subtype in ("cover_mouth", "on_cheek", "chin_rest",
                                                                     "over_eyes")


def test_11k_hands_on_white_with_subject_splits(tmp_path, hand_rgba):
    hands = tmp_path / "Hands"
    a = hand_rgba[..., 3:].astype(float) / 255
    photo = np.clip(hand_rgba[..., :3] * a + 250 * (1 - a), 0, 255).astype(np.uint8)
    photo = np.ascontiguousarray(np.rot90(photo, 2))  # 11k hands hang from the top border
    rows = ["id,age,gender,skinColor,accessories,nailPolish,aspectOfHand,imageName,irregularities"]
    for i, (subj, irr) in enumerate((("7", 0), ("7", 0), ("9", 1))):
        name = f"Hand_{i:07d}.jpg"
        _save(hands / name, photo)
        rows.append(f"{subj},30,male,fair,0,0,dorsal right,{name},{irr}")
    _save(hands / "Hand_0000009.jpg", np.full((60, 60, 3), 250, np.uint8))  # no hand at all
    (tmp_path / "HandInfo.csv").write_text("\n".join(rows) + "\n")
    rep = import_preset("11k-hands", tmp_path, tmp_path / "out", progress=False)
    assert len(rep.assets) == 2 and len({a.split for a in rep.assets}) == 1  # one subject, one split
    for asset in rep.assets:
        assert asset.kind == "hand" and asset.exit_edge == "bottom" and asset.tags["subject"] == "7"
        assert asset.tags["aspect"] == "dorsal right" and len(asset.tags["hand_landmarks"]) == 21
        palm, wrist = np.array(asset.anchors["palm"]), np.array(asset.anchors["wrist"])
        assert palm[1] < wrist[1]  # upright
    reasons = {k.split("/")[-1]: r for k, r in rep.skipped}
    assert "irregular" in reasons["Hand_0000002.jpg"] and "no object" in reasons["Hand_0000009.jpg"]


def _ego_video(vid, hand_rgba) -> None:
    """One EgoHands video folder: two frames, the right hand outlined in the first."""
    from scipy.io import savemat

    a = hand_rgba[..., 3]
    h, w = a.shape
    frame = np.full((h + 40, w + 40, 3), 120, np.uint8)
    al = a[..., None].astype(float) / 255
    frame[20:20 + h, 20:20 + w] = np.clip(hand_rgba[..., :3] * al + 120 * (1 - al), 0, 255).astype(np.uint8)
    cnts, _ = cv2.findContours((a > 127).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    poly = max(cnts, key=cv2.contourArea)[:, 0, :].astype(np.float64) + 20
    polys = np.zeros((1, 2), dtype=[(f, object) for f in ("myleft", "myright", "yourleft", "yourright")])
    for k in range(2):
        _save(vid / f"frame_{k:04d}.jpg", frame)
        for f in ("myleft", "myright", "yourleft", "yourright"):
            polys[0, k][f] = poly if (f == "myright" and k == 0) else np.zeros((0, 0))
    savemat(str(vid / "polygons.mat"), {"polygons": polys})


def test_egohands_polygons(tmp_path, hand_rgba):
    _ego_video(tmp_path / "_LABELLED_SAMPLES" / "CARDS_TEST_A_B", hand_rgba)
    rep = import_preset("egohands", tmp_path, tmp_path / "out", progress=False)
    assert [a.tags["hand"] for a in rep.assets] == ["myright"]
    assert rep.assets[0].tags["file"] == "CARDS_TEST_A_B/frame_0000.jpg" and rep.assets[0].kind == "hand"


def test_egohands_unreadable_annotations_are_reported(tmp_path, hand_rgba):
    _ego_video(tmp_path / "_LABELLED_SAMPLES" / "CARDS_TEST_A_B", hand_rgba)
    vid = tmp_path / "_LABELLED_SAMPLES" / "CARDS_BROKEN"
    _save(vid / "frame_0000.jpg", np.full((64, 64, 3), 120, np.uint8))
    (vid / "polygons.mat").write_bytes(b"not a MATLAB file")
    rep = import_preset("egohands", tmp_path, tmp_path / "out", progress=False)
    assert [a.tags["file"] for a in rep.assets] == ["CARDS_TEST_A_B/frame_0000.jpg"]  # the rest is kept
    assert [(p.endswith("polygons.mat"), r.startswith("unreadable polygons.mat")) for p, r in rep.skipped] == [
        (True, True)]


def test_hiu_pairs_and_missing_masks(tmp_path):
    rgb, m = _blob(seed=4)
    _save(tmp_path / "train" / "images" / "0001.png", rgb)
    _save(tmp_path / "train" / "masks" / "0001.png", m)
    _save(tmp_path / "train" / "images" / "0002.png", rgb)
    rep = import_preset("hiu-dmtl", tmp_path, tmp_path / "out", progress=False)
    reasons = [r for _, r in rep.skipped]
    assert any("no mask beside it" in r for r in reasons)
    assert any("mediapipe found no hand" in r for r in reasons)  # a blob is not a hand: reported, not written
    assert rep.assets == []


def test_cli_preset_and_errors(tmp_path, capsys):
    with pytest.raises(AssetError, match="unknown preset 'nope'"):
        import_preset("nope", tmp_path, tmp_path / "o")
    with pytest.raises(AssetError, match="nothing found under"):
        import_preset("figaro1k", tmp_path, tmp_path / "o", progress=False)
    src = tmp_path / "SIMD" / "smoke_cloud"
    rgb, a = _blob(soft=True)
    _save(src / "fg" / "s.png", rgb)
    _save(src / "alpha" / "s.png", a)
    ns = argparse.Namespace(kind=str(tmp_path / "SIMD"), src=None, out=str(tmp_path / "lib"), preset="sim",
                            limit=None, test_fraction=0.2, max_size=512, format="auto", matte=None, model="u2netp",
                            workers=1, subtype="imported", split=None, license="x")
    assert occ_cmd._import(ns) == 0
    out = capsys.readouterr().out
    assert "translucent/smoke" in out and "imported 1 assets" in out


def test_tiny_hands_are_refused():
    from celebamat.occluders.hand_pose import MIN_PALM_PX

    lm = np.zeros((21, 2))
    lm[9] = (0, -(MIN_PALM_PX - 1))
    with pytest.raises(AssetError, match="hand too small"):
        upright_hand(np.zeros((50, 50, 4), np.uint8), lm + 25)


def test_hair_cut_by_its_photo_fades_out():
    from celebamat.occluders.presets.base import fade_cut_borders

    rgba = np.zeros((100, 60, 4), np.uint8)
    rgba[20:, 10:50] = 255  # hair running out of the bottom of its photo
    out = fade_cut_borders(rgba)
    assert out[-1, 30, 3] < 20 and out[-3, 30, 3] < out[-6, 30, 3] < 255 and out[50, 30, 3] == 255
    untouched = np.zeros_like(rgba)
    untouched[20:80, 10:50] = 255
    assert fade_cut_borders(untouched) is untouched
