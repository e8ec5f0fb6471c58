"""Awkward inputs through the commands users type: every unusable file is named with its reason, every usable
one is used, the run finishes (exit code 1 when something was skipped) and ``celebamat verify`` accepts
everything a build wrote. The corpus: corrupt, empty, faceless, two-face photos, a decompression bomb
(20,000 x 20,000 PNG), colliding and unicode occluder names, garbled state files, unusable output folders,
recipe values that are not finite and asset metadata pointing outside its library."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import shutil

import cv2
import numpy as np
import pytest
from PIL import Image

from celebamat.cli import main
from celebamat.dataset.build import build_dataset
from celebamat.dataset.recipe import load_recipe
from celebamat.dataset.verify import verify_dataset
from celebamat.faces.demo import demo_photo


def _small_face_in_large_frame(face: np.ndarray, side: int = 3200, face_px: int = 260) -> np.ndarray:
    """A holiday-photo stand-in: a textured ``side`` x ``3/4 side`` frame with the face ``face_px`` wide."""
    h = side * 3 // 4
    rng = np.random.default_rng(0)
    frame = cv2.resize(rng.integers(70, 170, (h // 16, side // 16, 3), dtype=np.uint8), (side, h),
                       interpolation=cv2.INTER_LINEAR)
    small = cv2.resize(face, (face_px, face_px * face.shape[0] // face.shape[1]), interpolation=cv2.INTER_AREA)
    y, x = h // 2 + 200, side // 2 + 600
    frame[y: y + small.shape[0], x: x + small.shape[1]] = small
    return frame


def _exif_rotated_jpeg(rgb: np.ndarray, path: Path) -> None:
    """Store the photo turned on its side with EXIF orientation 6 (display: rotate 90 degrees clockwise)."""
    sideways = np.ascontiguousarray(np.rot90(rgb, 1))
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(sideways).save(path, quality=92, exif=exif)


@pytest.fixture(scope="module")
def awkward_folder(tmp_path_factory, bomb_png) -> Path:
    d = tmp_path_factory.mktemp("awkward")
    astro, grace = demo_photo("astronaut"), demo_photo("grace_hopper")
    (d / "nested" / "deeper").mkdir(parents=True)
    Image.fromarray(astro).save(d / "nested" / "deeper" / "ok_nested.jpg", quality=92)
    Image.fromarray(grace).convert("CMYK").save(d / "ok_cmyk.jpg", quality=92)
    Image.fromarray((astro[..., 1].astype(np.uint16) * 257)).save(d / "ok_16bit.png")
    Image.fromarray(grace).convert("P", palette=Image.Palette.ADAPTIVE, colors=256).save(d / "ok_palette.png")
    _exif_rotated_jpeg(astro, d / "ok_exif_rotated.jpg")
    Image.fromarray(_small_face_in_large_frame(astro)).save(d / "ok_small_face_in_large_frame.jpg", quality=90)
    # Unusable ones.
    buf = io.BytesIO()
    Image.fromarray(grace).save(buf, format="JPEG", quality=92)
    (d / "corrupt.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    (d / "empty.png").write_bytes(b"")
    Image.fromarray(np.full((480, 640, 3), (120, 150, 90), np.uint8)).save(d / "no_face.png")
    Image.fromarray(np.hstack([astro, astro])).save(d / "two_faces.jpg", quality=92)
    Image.fromarray(grace).save(d / "zero_sidecar.jpg", quality=92)
    Image.fromarray(np.zeros(grace.shape[:2], np.uint8)).save(d / "zero_sidecar.mask.png")
    os.symlink(d / "nested", d / "nested" / "deeper" / "loop")  # a folder that contains itself
    shutil.copy(bomb_png, d / "bomb.png")  # 20,000 x 20,000: refused from its header, never decoded
    return d


EXPECTED_SKIPS = {
    "bomb.png": "image too large",
    "corrupt.jpg": "unreadable file",
    "empty.png": "empty file",
    "no_face.png": "no face",
    "two_faces.jpg": "several faces",
    "zero_sidecar.jpg": "no skin",
}


def test_awkward_folder_build_names_every_skip_and_verifies(awkward_folder, tmp_path, tiny_library_dir,
                                                             recipe_factory, capsys):
    recipe = recipe_factory(tmp_path / "awk.toml", tiny_library_dir, source=f"folder:{awkward_folder}", train=8)
    out = tmp_path / "ds"
    assert main(["build", "--recipe", str(recipe), "--out", str(out), "--no-progress"]) == 1  # built, skips named
    text = capsys.readouterr().out
    assert "built 14 samples" in text and "skipped 6 faces" in text
    assert "folder:bomb.png: image too large (" in text
    assert "bomb.png: 400 MP; images above 150 MP are refused without decoding" in text
    manifest = json.loads((out / "manifest.json").read_text())
    skipped = {Path(s["face"].split(":", 1)[1]).name: s for s in manifest["skipped"]}
    assert {k: s["reason"] for k, s in skipped.items()} == EXPECTED_SKIPS
    assert "zero_sidecar.mask.png" in skipped["zero_sidecar.jpg"]["detail"]
    assert {Path(s["face"].split(":", 1)[1]).name for s in manifest["skipped"]} == set(EXPECTED_SKIPS)
    report_v = verify_dataset(out)
    assert report_v.ok, report_v.summary()
    faces = json.loads((out / ".celebamat" / "faces.json").read_text())["faces"]
    used = {Path(f["key"].split(":", 1)[1]).name for f in faces if f["ok"]}
    assert used == {"ok_nested.jpg", "ok_cmyk.jpg", "ok_16bit.png", "ok_palette.png", "ok_exif_rotated.jpg",
                    "ok_small_face_in_large_frame.jpg"}


def test_exif_rotation_is_applied_before_the_face_is_found(awkward_folder):
    from celebamat.faces import open_source

    src = open_source(f"folder:{awkward_folder}", size=128)
    rec = src.load("folder:ok_exif_rotated.jpg")
    # The alignment removes roll, so the image alone cannot tell; the photo-to-face transform can: read
    # upright, the photo needs (almost) no rotation; read sideways, it would need about 90 degrees.
    m = np.asarray(rec.provenance["transform"])
    assert abs(np.degrees(np.arctan2(m[1, 0], m[0, 0]))) < 15
    plain = src.load("folder:nested/deeper/ok_nested.jpg")
    assert np.abs(rec.image.astype(int) - plain.image.astype(int)).mean() < 12


def test_a_row_that_verify_would_reject_is_never_written(tmp_path, tiny_library_dir, recipe_factory, monkeypatch):
    """The build checks each row with verify's own checks before writing: a faulty render stops the build
    with the sample named, and no shard (not even a temporary one) is left behind."""
    import celebamat.synth.render as render_mod
    from celebamat.errors import CelebAMatError

    real = render_mod.render

    def broken(face, assets, params):
        s = real(face, assets, params)
        s.alpha[...] = 255  # alpha above skin wherever the skin is not full
        return s

    monkeypatch.setattr(render_mod, "render", broken)
    recipe = load_recipe(recipe_factory(tmp_path / "r.toml", tiny_library_dir, train=4))
    out = tmp_path / "ds"
    with pytest.raises(CelebAMatError, match=r"would fail verify: \[alpha-above-skin\]"):
        build_dataset(recipe, out, workers=1, progress=False)
    data = out / "data"
    assert not data.exists() or not any(data.iterdir()), sorted(p.name for p in data.iterdir())


def test_inspect_and_preview_skip_a_decompression_bomb(tmp_path, bomb_png, tiny_library_dir, recipe_factory,
                                                        capsys):
    d = tmp_path / "faces"
    d.mkdir()
    Image.fromarray(demo_photo("astronaut")).save(d / "a.jpg", quality=92)
    shutil.copy(bomb_png, d / "bomb.png")
    sheet = tmp_path / "sheet.png"
    assert main(["faces", "inspect", f"folder:{d}", "--size", "128", "--tile", "128", "--out", str(sheet)]) == 1
    text = capsys.readouterr().out
    assert "faces found: 1 of 2" in text and "folder:bomb.png: image too large" in text and sheet.is_file()
    recipe = recipe_factory(tmp_path / "r.toml", tiny_library_dir, source=f"folder:{d}")
    prev = tmp_path / "preview.png"
    assert main(["preview", "--recipe", str(recipe), "--n", "2", "--out", str(prev)]) == 1
    assert "skipped face folder:bomb.png: image too large" in capsys.readouterr().out and prev.is_file()
    assert main(["preview", "--recipe", str(recipe), "--n", "0", "--out", str(prev)]) == 2
    assert "--n must be at least 1" in capsys.readouterr().err


def test_large_photos_are_read_downscaled_and_bombs_refused_from_the_header(tmp_path, bomb_png, monkeypatch):
    import celebamat.faces.io as fio

    big = np.random.default_rng(0).integers(0, 255, (600, 900, 3), dtype=np.uint8)
    Image.fromarray(big).save(tmp_path / "big.jpg", quality=90)
    Image.fromarray(big[..., 0]).save(tmp_path / "big.mask.png")
    monkeypatch.setattr(fio, "LARGE_IMAGE_PIXELS", 100_000)  # stands for 40 MP
    info: dict = {}
    img = fio.read_image(tmp_path / "big.jpg", info=info)
    assert img.shape == (258, 387, 3) and info["downscaled_from"] == [900, 600]
    assert fio.read_mask_u8(tmp_path / "big.mask.png").shape == img.shape[:2]  # a sidecar stays registered
    with pytest.raises(fio.ImageReadError) as e:
        fio.read_image(bomb_png)
    assert e.value.reason == "image too large" and "400 MP" in str(e.value)


def _rgba_blob() -> np.ndarray:
    a = np.zeros((60, 80, 4), np.uint8)
    cv2.ellipse(a, (40, 30), (30, 20), 0, 0, 360, (200, 100, 50, 255), -1)
    return a


def test_occluder_import_never_drops_or_overwrites_in_silence(tmp_path, bomb_png, capsys):
    src, lib = tmp_path / "src", tmp_path / "lib"
    src.mkdir()
    names = ["dup .png", "dup_.png", "Hände.png", "x" * 251 + ".png", "ok.png"]
    for n in names:
        Image.fromarray(_rgba_blob()).save(src / n)
    (src / "text.png").write_text("not an image")
    shutil.copy(bomb_png, src / "bomb.png")
    argv = ["occluders", "import", "texture", str(src), "--out", str(lib)]
    assert main(argv) == 1
    text = capsys.readouterr().out
    assert "imported 5 assets" in text and "(2 skipped)" in text
    assert f"skipped {src / 'bomb.png'}:" in text and "image too large" in text
    assert f"skipped {src / 'text.png'}:" in text
    written = sorted(p.name for p in lib.glob("*.json"))
    assert len(written) == 5 and "texture-imported-Hande.json" in written and "texture-imported-dup_.json" in written
    assert all(len(n) < 255 for n in written)
    originals = {json.loads((lib / n).read_text())["tags"]["original"] for n in written}
    assert originals == set(names)
    before = {p.name: p.read_bytes() for p in lib.iterdir()}
    Image.fromarray(_rgba_blob()[:, ::-1].copy()).save(src / "ok.png")  # changed: must not replace the asset
    assert main(argv) == 2  # nothing new: every asset is already there, and each file says so
    out = capsys.readouterr()
    assert "'texture-imported-ok' already exists" in out.out and "--overwrite" in out.out
    assert "nothing imported" in out.err
    assert {p.name: p.read_bytes() for p in lib.iterdir()} == before
    assert main(argv + ["--overwrite"]) == 1
    assert "imported 5 assets" in capsys.readouterr().out
    assert (lib / "texture-imported-ok.png").read_bytes() != before["texture-imported-ok.png"]
    assert main(["occluders", "validate", str(lib)]) == 0


def test_asset_metadata_pointing_outside_its_library_is_a_fault(tmp_path, capsys):
    from celebamat.occluders.asset import write_asset

    lib = tmp_path / "lib"
    meta = {"id": "blob", "kind": "texture", "subtype": "imported", "anchors": {"center": [40, 30]}, "targets": {},
            "scale": {"measure": "face_width", "length": 80, "range": [0.4, 0.9]}, "rotation": [-20, 20],
            "mirror": True, "zones": ["face"], "layer": 25, "split": "train", "license": "CC0-1.0", "source": "t"}
    write_asset(lib, meta, _rgba_blob())
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(lib / "blob.png", outside / "x.png")
    doc = json.loads((lib / "blob.json").read_text())
    doc["file"] = "../outside/x.png"
    (lib / "blob.json").write_text(json.dumps(doc))
    assert main(["occluders", "validate", str(lib)]) == 1
    assert "'../outside/x.png' lies outside the library folder" in capsys.readouterr().out


def test_recipe_values_that_are_not_finite_are_named(tmp_path, tiny_library_dir, recipe_factory, capsys):
    recipe = recipe_factory(tmp_path / "r.toml", tiny_library_dir)
    text = recipe.read_text()
    for line, key in (("kinds = { hand = inf }", "occluders.kinds.hand"), ("count = [1, nan]", "occluders.count"),
                      ("opacity = [0.5, inf]", "occluders.opacity")):
        recipe.write_text(text.replace("count = [0.1, 0.5, 0.4]", line))
        assert main(["build", "--recipe", str(recipe), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert key in err and str(recipe) in err, err
    assert not (tmp_path / "o").exists()
    recipe.write_text(text)
    assert main(["build", "--recipe", str(recipe), "--seed", "-1", "--out", str(tmp_path / "o")]) == 2
    assert "--seed must be" in capsys.readouterr().err


def test_garbled_state_files_are_named_and_overwrite_recovers(tmp_path, tiny_library_dir, recipe_factory, capsys):
    recipe = recipe_factory(tmp_path / "r.toml", tiny_library_dir, train=1, rows_per_shard=8)
    out = tmp_path / "ds"
    argv = ["build", "--recipe", str(recipe), "--out", str(out), "--no-progress"]
    state = out / ".celebamat"
    state.mkdir(parents=True)
    (state / "build.json").write_text("{garbled")
    (state / "faces.json").write_text("{garbled")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{state / 'build.json'} is corrupt" in err and "--overwrite" in err
    assert main(argv + ["--overwrite"]) == 0
    assert "built 7 samples" in capsys.readouterr().out
    (state / "faces.json").write_text("{garbled")  # a cache only: scanned again, every shard reused
    assert main(argv) == 0
    assert "3 reused" in capsys.readouterr().out
    assert verify_dataset(out).ok


def test_unusable_output_folders_are_one_sentence(tmp_path, tiny_library_dir, recipe_factory, capsys, monkeypatch):
    recipe = recipe_factory(tmp_path / "r.toml", tiny_library_dir)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for out in (a_file, a_file / "sub"):
        assert main(["build", "--recipe", str(recipe), "--out", str(out), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"--out {out}: cannot create this folder" in err and "is a file" in err
    import celebamat.utils.io as uio

    monkeypatch.setattr(uio.os, "access", lambda path, mode: False)  # a read-only folder (tests may run as root)
    assert main(["build", "--recipe", str(recipe), "--out", str(tmp_path / "ro"), "--no-progress"]) == 2
    assert f"--out {tmp_path / 'ro'}: the folder is not writable" in capsys.readouterr().err
