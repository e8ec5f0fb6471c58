import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from celebamat.errors import CelebAMatError, FaceSkipped
from celebamat.faces import FaceRecord, open_source
from celebamat.faces.skin import CELEBAMASK_PARTS
from celebamat.landmarks import EYE_LEFT_RING, EYE_RIGHT_RING, FACE_OVAL, face_anchors


def _check_record(rec: FaceRecord, size: int):
    assert rec.image.shape == (size, size, 3) and rec.image.dtype == np.uint8
    assert rec.skin.shape == (size, size) and rec.skin.dtype == np.float32
    assert 0.0 <= rec.skin.min() and rec.skin.max() <= 1.0
    assert rec.landmarks.shape == (478, 2) and rec.landmarks.dtype == np.float32
    assert 0.1 < rec.skin.mean() < 0.6


# --- demo -------------------------------------------------------------------------------------------------

def test_demo_keys_identities_and_records(demo_source, demo_faces):
    keys = demo_source.keys()
    assert keys == sorted(keys) and len(keys) == 12
    assert "demo:astronaut-m1" in keys and "demo:grace_hopper-m0" in keys
    assert demo_source.identity("demo:astronaut-m3") == "astronaut"
    assert "Public domain" in demo_source.license
    for name, rec in demo_faces.items():
        _check_record(rec, 256)
        assert rec.identity == name and rec.source == "demo" and rec.face_id == f"demo:{name}-m0"
    with pytest.raises(KeyError):
        demo_source.identity("demo:nobody-m0")


def test_demo_variants_differ_and_are_deterministic(demo_source, demo_faces):
    plain = demo_faces["astronaut"]
    mirror = demo_source.load("demo:astronaut-m1")
    again = open_source("demo", size=256).load("demo:astronaut-m1")
    assert np.array_equal(mirror.image, again.image) and np.array_equal(mirror.skin, again.skin)
    assert np.abs(mirror.image.astype(int) - plain.image.astype(int)).mean() > 5
    # The mirror is the plain face flipped, up to landmark jitter in the alignment.
    assert np.abs(mirror.image[:, ::-1].astype(int) - plain.image.astype(int)).mean() < 25
    a = face_anchors(mirror.landmarks)
    assert a["eye_left"][0] < a["eye_right"][0]


def test_glasses_mask_and_cut():
    from celebamat.faces.demo import cut_glasses, glasses_mask

    assert glasses_mask("astronaut", (600, 512)) is None
    g = glasses_mask("grace_hopper", (600, 512))
    assert g.shape == (600, 512) and g.dtype == np.float32 and set(np.unique(g)) >= {0.0, 1.0}
    assert g[200, 220] == 1.0 and g[200, 320] == 1.0 and g[100, 256] == 0.0  # both lenses, not the forehead
    # The mirror follows the flipped photo (continuous pixels: x -> W - x), up to anti-aliasing rounding.
    diff = np.abs(glasses_mask("grace_hopper", (600, 512), mirror=True) - g[:, ::-1])
    assert diff.max() < 0.1 and diff.mean() < 1e-3
    # Cutting removes skin under the glasses and nowhere else, and never adds any; eyes and brows stay.
    size = 128
    pts = np.zeros((478, 2), np.float32) + 64.0  # every landmark at one point: no eye or brow area
    skin = np.full((size, size), 0.8, np.float32)
    glasses = np.zeros((size, size), np.float32)
    glasses[40:60, 20:100] = 1.0
    out = cut_glasses(skin, glasses, pts)
    assert out.dtype == np.float32 and np.all(out <= skin)
    assert np.all(out[40:60, 20:100] == 0) and np.all(out[:40] == skin[:40]) and np.all(out[60:] == skin[60:])


def test_demo_skin_excludes_the_traced_glasses(demo_source, demo_faces):
    """Grace Hopper wears glasses with light frames that the estimator keeps as skin; the traced outline cuts
    them (lens below each eye: no skin), and the eyes behind the clear lenses stay skin, in the mirror too."""
    for rec in (demo_faces["grace_hopper"], demo_source.load("demo:grace_hopper-m1")):
        assert rec.skin_source.endswith("+traced-glasses") and rec.provenance["skin"] == rec.skin_source
        pts = rec.landmarks
        iod = float(np.hypot(*(pts[468] - pts[473])))
        for iris in (468, 473):
            x, y = pts[iris]
            assert rec.skin[int(y), int(x)] > 0.9  # the eye, seen through the lens
            assert rec.skin[int(y + 0.3 * iod), int(x)] < 0.05  # the lens below it
    plain = demo_faces["astronaut"]
    assert not plain.skin_source.endswith("+traced-glasses")
    x, y = plain.landmarks[468]
    iod = float(np.hypot(*(plain.landmarks[468] - plain.landmarks[473])))
    assert plain.skin[int(y + 0.3 * iod), int(x)] > 0.9  # no glasses, skin below the eye


# --- folder -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory, astronaut, grace):
    d = tmp_path_factory.mktemp("photos")
    (d / "alice").mkdir()
    Image.fromarray(astronaut).save(d / "alice" / "a1.jpg", quality=92)
    Image.fromarray(grace).convert("L").save(d / "gray.png")
    rgba = np.dstack([grace, np.full(grace.shape[:2], 255, np.uint8)])
    Image.fromarray(rgba).save(d / "rgba.webp")
    # Sidecar mask: a known rectangle, so the warped matte can be checked against the transform.
    Image.fromarray(grace).save(d / "masked.jpg", quality=92)
    m = np.zeros(grace.shape[:2], np.uint8)
    m[200:400, 150:350] = 255
    Image.fromarray(m).save(d / "masked.mask.png")
    (d / "empty.jpg").write_bytes(b"")
    (d / "text.jpg").write_text("not an image")
    raw = (d / "alice" / "a1.jpg").read_bytes()
    (d / "cut.jpg").write_bytes(raw[: len(raw) // 3])
    Image.fromarray(np.full((400, 400, 3), (120, 160, 90), np.uint8)).save(d / "flat.png")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)).save(d / "noise.png")
    Image.fromarray(np.hstack([astronaut, astronaut])).save(d / "two.png")
    tiny = cv2.resize(grace, (64, 75), interpolation=cv2.INTER_AREA)
    canvas = np.full((300, 300, 3), 100, np.uint8)
    canvas[100:175, 100:164] = tiny
    Image.fromarray(canvas).save(d / "tiny.png")
    (d / "readme.txt").write_text("ignored: not an image suffix")
    return d


EXPECTED_SKIPS = {
    "folder:empty.jpg": "empty file",
    "folder:text.jpg": "unreadable file",
    "folder:cut.jpg": "unreadable file",
    "folder:flat.png": "no face",
    "folder:noise.png": "no face",
    "folder:two.png": "several faces",
    "folder:tiny.png": "face too small",
}


def test_folder_keys_and_identity(photo_folder):
    src = open_source(f"folder:{photo_folder}", size=256)
    keys = src.keys()
    assert keys == sorted(keys)
    assert "folder:alice/a1.jpg" in keys and "folder:masked.mask.png" not in keys
    assert not any(k.endswith(".txt") for k in keys)
    assert src.identity("folder:alice/a1.jpg") == "alice" and src.identity("folder:gray.png") is None


@pytest.mark.parametrize("key,reason", sorted(EXPECTED_SKIPS.items()))
def test_folder_bad_inputs_are_skipped_with_reason(photo_folder, key, reason):
    src = open_source(f"folder:{photo_folder}", size=256)
    with pytest.raises(FaceSkipped) as e:
        src.load(key)
    assert e.value.reason == reason and e.value.key == key
    assert key.split(":", 1)[1].split("/")[-1] in str(e.value) or reason in ("no face", "several faces", "face too small")


def test_folder_good_photos(photo_folder):
    src = open_source(f"folder:{photo_folder}", size=256)
    for key in ("folder:alice/a1.jpg", "folder:gray.png", "folder:rgba.webp"):
        rec = src.load(key)
        _check_record(rec, 256)
        assert rec.source == "folder" and rec.face_id == key
    gray = src.load("folder:gray.png")
    assert np.array_equal(gray.image[..., 0], gray.image[..., 1])


def test_folder_sidecar_mask_is_warped_with_the_face(photo_folder):
    src = open_source(f"folder:{photo_folder}", size=256)
    rec = src.load("folder:masked.jpg")
    assert rec.skin_source == rec.provenance["skin"] == "annotation:sidecar mask"
    m = np.array(rec.provenance["transform"])
    # The photo-space rectangle's centre lands inside the matte, a photo corner maps outside it.
    c = m[:, :2] @ np.array([250.0, 300.0]) + m[:, 2]
    assert rec.skin[int(c[1]), int(c[0])] == pytest.approx(1.0, abs=1e-3)
    assert set(np.unique(np.round(rec.skin, 3))) >= {0.0, 1.0}


def test_folder_wrong_root(tmp_path):
    with pytest.raises(CelebAMatError, match="not a directory"):
        open_source(f"folder:{tmp_path / 'missing'}")
    with pytest.raises(CelebAMatError, match="unknown face source"):
        open_source("flickr:abc")


# --- celebamask-hq ----------------------------------------------------------------------------------------

def _poly_mask(pts, shape=(512, 512)):
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 255)
    return m


@pytest.fixture(scope="module")
def celebamask_root(tmp_path_factory, demo_faces):
    """A tiny CelebAMask-HQ layout: images 0, 1 (demo faces at 1024 px) and 2 (no skin annotation), part masks
    drawn from the landmarks, the HQ -> CelebA mapping and CelebA identities."""
    root = tmp_path_factory.mktemp("celebamask")
    (root / "CelebA-HQ-img").mkdir()
    ann = root / "CelebAMask-HQ-mask-anno" / "0"
    ann.mkdir(parents=True)
    truth = {}
    for n, name in enumerate(["astronaut", "grace_hopper", "astronaut"]):
        rec = demo_faces[name]
        Image.fromarray(cv2.resize(rec.image, (1024, 1024), interpolation=cv2.INTER_CUBIC)).save(
            root / "CelebA-HQ-img" / f"{n}.jpg", quality=95)
        pts = rec.landmarks.astype(np.float64) * (512 / rec.size)
        parts = {"skin": _poly_mask(pts[list(FACE_OVAL)]),
                 "l_eye": _poly_mask(pts[list(EYE_LEFT_RING)]), "r_eye": _poly_mask(pts[list(EYE_RIGHT_RING)])}
        a = face_anchors(pts)
        hair = np.zeros((512, 512), np.uint8)
        hair[: int(a["forehead"][1]) + 8] = 255  # fringe down to the forehead point
        parts["hair"] = hair
        if n == 1:
            g = np.zeros((512, 512), np.uint8)
            y = int(a["eyes_center"][1])
            g[y - 25: y + 25, int(a["eye_left"][0]) - 45: int(a["eye_right"][0]) + 45] = 255
            parts["eye_g"] = g
        if n == 2:
            del parts["skin"]
        for p, m in parts.items():
            Image.fromarray(m).save(ann / f"{n:05d}_{p}.png")
        truth[n] = parts
    (root / "CelebA-HQ-to-CelebA-mapping.txt").write_text(
        "idx         orig_idx    orig_file\n0 119613 119614.jpg\n1 99094 099095.jpg\n2 200121 200122.jpg\n")
    (root / "identity_CelebA.txt").write_text("119614.jpg 2880\n099095.jpg 2937\n200122.jpg 8692\n")
    return root, truth


def test_celebamask_skin_follows_painting_order(celebamask_root):
    root, truth = celebamask_root
    src = open_source(f"celebamask-hq:{root}", size=512)
    assert src.keys() == ["celebamask-hq:00000", "celebamask-hq:00001", "celebamask-hq:00002"]
    rec = src.load("celebamask-hq:00001")
    _check_record(rec, 512)
    t = {k: v > 127 for k, v in truth[1].items()}
    # Expected: (skin | eyes) minus hair, minus glasses except where the eyes are painted over them.
    expected = (t["skin"] & ~t["eye_g"] | t["l_eye"] | t["r_eye"]) & ~t["hair"]
    assert np.array_equal(rec.skin > 0.5, expected)
    assert set(np.unique(rec.skin)) <= {0.0, 1.0}
    assert rec.identity == "celeba:2937" and src.identity("celebamask-hq:00000") == "celeba:2880"
    assert rec.provenance["occluded_fraction"] > 0.05
    assert "non-commercial" in src.license


def test_celebamask_resize_and_options(celebamask_root):
    root, truth = celebamask_root
    src = open_source(f"celebamask-hq:{root}", size=256, skin_parts=["skin"])
    rec = src.load("celebamask-hq:00000")
    _check_record(rec, 256)
    eye = cv2.resize((truth[0]["l_eye"] > 127).astype(np.float32), (256, 256), interpolation=cv2.INTER_AREA)
    assert rec.skin[eye > 0.99].max() == 0.0  # eyes excluded when skin_parts is only "skin"
    with pytest.raises(CelebAMatError, match="beard"):
        open_source(f"celebamask-hq:{root}", skin_parts=["skin", "beard"])


def test_celebamask_at_its_own_size_keeps_the_source_bytes(celebamask_root):
    root, _ = celebamask_root
    path = root / "CelebA-HQ-img" / "0.jpg"
    rec = open_source(f"celebamask-hq:{root}", size=1024).load("celebamask-hq:00000")
    assert rec.encoded == path.read_bytes()
    np.testing.assert_array_equal(np.asarray(Image.open(path).convert("RGB")), rec.image)
    half = open_source(f"celebamask-hq:{root}", size=512).load("celebamask-hq:00000")
    assert half.encoded is None  # resized: its pixels are not the file's
    # the mesh reads a larger face from the 512 px copy: the landmarks of a 512 px build, times two
    np.testing.assert_array_equal(rec.landmarks, half.landmarks * 2)


def test_celebamask_occlusion_filter_and_missing_mask(celebamask_root):
    root, _ = celebamask_root
    src = open_source(f"celebamask-hq:{root}", size=128, occlusion_filter=0.02)
    with pytest.raises(FaceSkipped) as e:
        src.load("celebamask-hq:00001")
    assert e.value.reason == "already occluded"
    assert src.load("celebamask-hq:00000").face_id == "celebamask-hq:00000"
    with pytest.raises(FaceSkipped) as e:
        src.load("celebamask-hq:00002")
    assert e.value.reason == "mask missing" and "00002_skin.png" in str(e.value)


def test_the_scan_decodes_part_masks_only_for_faces_with_an_occlusion_part(celebamask_root, monkeypatch):
    import celebamat.faces.celebamask as celebamask

    root, _ = celebamask_root
    src = open_source(f"celebamask-hq:{root}", size=128, occlusion_filter=0.02)
    decoded = []
    read = celebamask.read_mask_u8
    monkeypatch.setattr(celebamask, "read_mask_u8", lambda p: decoded.append(Path(p).name) or read(p))
    assert src.check("celebamask-hq:00000") == src.identity("celebamask-hq:00000")
    assert decoded == []  # no glasses or hat mask: nothing of the face can be occluded, so nothing is decoded
    with pytest.raises(FaceSkipped) as e:
        src.check("celebamask-hq:00001")  # glasses: its masks are decoded and the filter refuses it
    assert e.value.reason == "already occluded" and "00001_eye_g.png" in decoded
    with pytest.raises(FaceSkipped) as e:
        src.check("celebamask-hq:00002")
    assert e.value.reason == "mask missing" and "00002_skin.png" in str(e.value)


def test_a_bad_part_mask_of_a_face_without_occlusion_parts_fails_at_load(celebamask_root):
    root, _ = celebamask_root
    (root / "CelebAMask-HQ-mask-anno" / "0" / "00000_l_eye.png").write_bytes(b"not a png")
    src = open_source(f"celebamask-hq:{root}", size=128, occlusion_filter=0.02)
    src.check("celebamask-hq:00000")  # the scan does not decode it (the build replaces the face when it fails)
    with pytest.raises(FaceSkipped) as e:
        src.load("celebamask-hq:00000")
    assert e.value.reason == "mask missing" and "00000_l_eye.png" in str(e.value)


def test_celebamask_without_identity_file_warns(celebamask_root, tmp_path):
    root, _ = celebamask_root
    alt = tmp_path / "alt"
    alt.mkdir()
    for d in ("CelebA-HQ-img", "CelebAMask-HQ-mask-anno"):
        (alt / d).symlink_to(root / d)
    src = open_source(f"celebamask-hq:{alt}")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ident = src.identity("celebamask-hq:00001")
    assert ident == "celebahq:00001"
    assert any("identity_CelebA.txt" in str(x.message) or "mapping" in str(x.message) for x in w)


def test_celebamask_wrong_root(tmp_path):
    with pytest.raises(CelebAMatError, match="does not exist"):
        open_source(f"celebamask-hq:{tmp_path / 'nope'}")
    with pytest.raises(CelebAMatError, match="CelebA-HQ-img"):
        open_source(f"celebamask-hq:{tmp_path}")


def test_parts_list_matches_dataset():
    assert CELEBAMASK_PARTS[0] == "skin" and CELEBAMASK_PARTS[-1] == "cloth" and len(CELEBAMASK_PARTS) == 18
