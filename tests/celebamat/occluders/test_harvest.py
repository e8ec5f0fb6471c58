"""Harvesting occluders from a miniature CelebAMask-HQ folder whose photos and part masks the test paints."""

import warnings

import cv2
import numpy as np
import pytest
from PIL import Image

from celebamat.faces.celebamask import IMAGE_DIR, MASK_DIR
from celebamat.faces.celebamask_layout import write_celebamask_layout
from celebamat.landmarks import detect_landmarks, face_anchors, face_frame
from celebamat.occluders import load_library
from celebamat.occluders.harvest import harvest, identity_split
from celebamat.occluders.matting import soft_edge_share
from celebamat.synth.placement import apply, place_asset

BROWN = np.array([95, 55, 30])


def _paint(img: np.ndarray, mask_hi: np.ndarray, color) -> np.ndarray:
    """Paint ``color`` over ``img`` with the coverage of a 4x supersampled mask (a real soft edge)."""
    cover = cv2.resize(mask_hi.astype(np.float32), img.shape[1::-1], interpolation=cv2.INTER_AREA)[..., None]
    return np.clip(np.rint(cover * np.asarray(color) + (1 - cover) * img), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def donors(tmp_path_factory):
    """Three donors: 0 sunglasses + fringe, 1 clear glasses (same identity as 0), 2 without occluder parts."""
    root = write_celebamask_layout(tmp_path_factory.mktemp("cmhq"), 3, images_per_identity=2, size=512)
    ann = root / MASK_DIR / "0"
    info = {}
    for n in range(3):
        path = root / IMAGE_DIR / f"{n}.jpg"
        img = np.asarray(Image.open(path).convert("RGB"))
        a = face_anchors(detect_landmarks(img))
        iod = float(np.linalg.norm(a["eye_right"] - a["eye_left"]))
        hi = np.zeros((2048, 2048), np.uint8)
        if n in (0, 1):
            r = int(0.3 * iod * 4)
            for e in ("eye_left", "eye_right"):
                c = tuple(int(v * 4) for v in a[e])
                if n == 0:
                    cv2.circle(hi, c, r, 1, -1)
                else:
                    cv2.circle(hi, c, r, 1, max(4, int(0.07 * iod * 4)))
            p, q = (a["eye_left"] * 4).astype(int), (a["eye_right"] * 4).astype(int)
            cv2.line(hi, (p[0] + r, p[1]), (q[0] - r, q[1]), 1, max(4, int(0.05 * iod * 4)))
            img = _paint(img, hi, (20, 20, 25) if n == 0 else (170, 25, 25))
            filled = np.zeros_like(hi)
            for e in ("eye_left", "eye_right"):
                cv2.circle(filled, tuple(int(v * 4) for v in a[e]), r, 1, -1)
            eye_g = cv2.resize(np.maximum(filled, hi) * 255, (512, 512), interpolation=cv2.INTER_AREA) > 127
            Image.fromarray(eye_g.astype(np.uint8) * 255).save(ann / f"{n:05d}_eye_g.png")
        if n == 0:
            fringe = np.zeros_like(hi)
            top, brow = a["hairline"][1], min(a["brow_left"][1], a["brow_right"][1]) - 0.05 * iod
            x0, x1 = a["temple_left"][0] + 0.1 * iod, a["temple_right"][0] - 0.1 * iod
            cv2.rectangle(fringe, (int(x0 * 4), int(top * 4)), (int(x1 * 4), int(brow * 4)), 1, -1)
            img = _paint(img, fringe, BROWN)
            hair = np.asarray(Image.open(ann / f"{n:05d}_hair.png")) > 127
            hair |= cv2.resize(fringe * 255, (512, 512), interpolation=cv2.INTER_AREA) > 127
            Image.fromarray(hair.astype(np.uint8) * 255).save(ann / f"{n:05d}_hair.png")
        if n == 1:  # a hat above the forehead, an earring under the image-left ear, a necklace under the chin
            parts = {"hat": np.zeros_like(hi), "ear_r": np.zeros_like(hi), "neck_l": np.zeros_like(hi)}
            top = a["hairline"][1]
            cv2.ellipse(parts["hat"], (int(a["forehead"][0] * 4), int(top * 4)),
                        (int(1.3 * iod * 4), int(0.5 * iod * 4)), 0, 180, 360, 1, -1)
            ear = a["ear_left"] + (0, 0.35 * iod)
            cv2.circle(parts["ear_r"], tuple(int(v * 4) for v in ear), int(0.09 * iod * 4), 1, -1)
            chin = a["chin"]
            cv2.ellipse(parts["neck_l"], (int(chin[0] * 4), int((chin[1] + 0.12 * iod) * 4)),
                        (int(0.6 * iod * 4), int(0.2 * iod * 4)), 0, 0, 180, 1, max(4, int(0.05 * iod * 4)))
            for part, colour in (("hat", (30, 60, 150)), ("ear_r", (230, 200, 40)), ("neck_l", (220, 220, 230))):
                img = _paint(img, parts[part], colour)
                m = cv2.resize(parts[part] * 255, (512, 512), interpolation=cv2.INTER_AREA) > 127
                Image.fromarray(m.astype(np.uint8) * 255).save(ann / f"{n:05d}_{part}.png")
        if n == 2:
            (ann / f"{n:05d}_hair.png").unlink()
        Image.fromarray(img).save(path, quality=97)
        info[n] = {"anchors": a, "iod": iod}
    out = tmp_path_factory.mktemp("harvested")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = harvest(f"celebamask-hq:{root}", out, kinds=("glasses", "fringe", "hat", "earring", "necklace"),
                         test_fraction=0.5,
                         max_side=160, progress=False)
    return root, out, report, info


def test_kinds_counts_and_skipped(donors):
    _, out, report, _ = donors
    by = {(a.tags["donor"], a.subtype) for a in report.assets}
    assert ("celebamask-hq:00000", "sunglasses") in by and ("celebamask-hq:00001", "eyeglasses") in by
    assert ("celebamask-hq:00000", "fringe") in by
    assert {("celebamask-hq:00001", s) for s in ("hat", "earring", "necklace")} <= by
    assert not any(d == "celebamask-hq:00002" for d, _ in by)
    reasons = dict(report.skipped)
    assert "no part mask" in reasons["celebamask-hq:00002"]
    lib = load_library(out)
    assert len(lib) == len(report.assets) and not lib.skipped
    assert (out / "harvest-skipped.tsv").read_text().count("celebamask-hq:00002") == 1
    assert all(a.license.startswith("CelebAMask-HQ") and "pymatting" in a.source for a in lib)


def test_splits_follow_the_identity(donors):
    _, _, report, _ = donors
    ident = {a.tags["identity"] for a in report.assets}
    assert ident == {"celeba:0"}  # images 0 and 1 are one CelebA identity
    assert {a.split for a in report.assets} == {identity_split("celeba:0", 0.5)}


def test_soft_alpha_and_no_halo(donors):
    _, _, report, _ = donors
    fringe = next(a for a in report.assets if a.subtype == "fringe")
    rgba = fringe.rgba()
    assert soft_edge_share(rgba[..., 3]) > 0.2
    edge = (rgba[..., 3] > 50) & (rgba[..., 3] < 200)
    edge[: int(fringe.anchors["forehead"][1])] = False  # the painted fringe's lower edge, over the skin
    assert edge.sum() > 10
    col = rgba[..., :3][edge].astype(float).mean(0)
    assert np.linalg.norm(col - BROWN) < 45  # the fringe's own brown, not the skin it was cut from


def test_glasses_lens_and_anchors(donors):
    _, _, report, info = donors
    sun = next(a for a in report.assets if a.subtype == "sunglasses")
    clear = next(a for a in report.assets if a.subtype == "eyeglasses")
    for asset, opaque in ((sun, True), (clear, False)):
        a = asset.rgba()[..., 3]
        x, y = (int(round(v)) for v in asset.anchors["eye_left"])
        centre = a[max(0, y - 1): y + 2, max(0, x - 1): x + 2].mean()
        assert (centre > 200) if opaque else (centre < 80), (asset.id, centre)
        assert asset.targets == {"eye_left": "eye_left", "eye_right": "eye_right"}
    # Placed on its own donor, the glasses' anchors land on the donor's eyes.
    donor = info[1]
    lm_anchors = {k: np.asarray(v) for k, v in donor["anchors"].items()}
    frame = face_frame(detect_landmarks(np.asarray(Image.open(donors[0] / IMAGE_DIR / "1.jpg").convert("RGB"))))
    m = place_asset(np.random.default_rng(0), clear, lm_anchors, frame, jitter=0.0)
    for name in ("eye_left", "eye_right"):
        got = apply(m, np.array([clear.anchors[name]]))[0]
        assert np.linalg.norm(got - lm_anchors[name]) < 0.08 * donor["iod"]


def test_unknown_kind_is_refused(tmp_path):
    from celebamat.errors import CelebAMatError

    with pytest.raises(CelebAMatError, match="unknown harvest kind 'beard'"):
        harvest(tmp_path, tmp_path / "out", kinds=("beard",))


def test_workers_give_the_same_library(donors, tmp_path):
    root, out, report, _ = donors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep2 = harvest(root, tmp_path / "w2", kinds=("glasses", "fringe", "hat", "earring", "necklace"),
                       test_fraction=0.5, max_side=160,
                       workers=2, progress=False)
    assert [a.id for a in rep2.assets] == [a.id for a in report.assets]
    for a in report.assets:
        assert (tmp_path / "w2" / a.path.name).read_bytes() == a.path.read_bytes()


def test_splits_follow_a_build_plan(donors, tmp_path):
    root, _, _, _ = donors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = harvest(root, tmp_path / "v", kinds=("glasses",), build_splits={"celeba:0": "validation"},
                      max_side=96, progress=False)
        assert rep.assets == []
        assert sum("validation split" in r for _, r in rep.skipped) == 2
        rep = harvest(root, tmp_path / "t", kinds=("glasses",), build_splits={"celeba:0": "test"}, test_fraction=0.0,
                      max_side=96, progress=False)
    assert {a.split for a in rep.assets} == {"test"}


def test_build_splits_of_a_recipe(tmp_path):
    from celebamat.errors import CelebAMatError
    from celebamat.dataset.scan import build_splits_of

    root = write_celebamask_layout(tmp_path / "cm", 6, images_per_identity=2, size=256)
    recipe = tmp_path / "r.toml"
    text = ('name = "bs"\nseed = 1\n[faces]\nsource = "celebamask-hq:x"\nsize = 128\n[splits]\ntrain = "rest"\n'
            'validation = 1\ntest = 1\nassign = "{}"\n')
    recipe.write_text(text.format("identity"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = build_splits_of(recipe, root)
    assert set(got) == {"celeba:0", "celeba:1", "celeba:2"}
    assert sorted(got.values()) == ["test", "train", "validation"]
    recipe.write_text(text.format("sample"))
    with pytest.raises(CelebAMatError, match="only when it assigns them by identity"):
        build_splits_of(recipe, root)


def test_anchors_of_hats_earrings_necklaces(donors):
    _, _, report, _ = donors
    by = {a.subtype: a for a in report.assets if a.tags["donor"] == "celebamask-hq:00001"}
    assert by["hat"].targets == {"temple_left": "temple_left", "temple_right": "temple_right", "forehead": "forehead"}
    assert by["earring"].targets == {"ear_left": "ear_left", "jaw_left": "jaw_left"}
    assert by["necklace"].targets == {"jaw_left": "jaw_left", "jaw_right": "jaw_right", "chin": "chin"}
    ring = by["earring"]
    ear = np.array(ring.anchors["ear_left"])
    ys, xs = np.nonzero(ring.rgba()[..., 3] > 128)
    assert ys.mean() > ear[1]  # the earring hangs below the ear anchor
    col = ring.rgba()[..., :3][ring.rgba()[..., 3] > 128].mean(0)
    assert np.linalg.norm(col - (230, 200, 40)) < 40


def test_lens_rule_without_eye_annotation(donors, tmp_path):
    """A clear lens stays clear glasses even where the annotators marked no eye behind it."""
    root, _, _, _ = donors
    import shutil

    copy = tmp_path / "cm"
    shutil.copytree(root, copy)
    for part in ("l_eye", "r_eye"):
        (copy / MASK_DIR / "0" / f"00001_{part}.png").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = harvest(copy, tmp_path / "o", kinds=("glasses",), max_side=96, progress=False)
    got = {a.tags["donor"]: a.subtype for a in rep.assets}
    assert got == {"celebamask-hq:00000": "sunglasses", "celebamask-hq:00001": "eyeglasses"}
