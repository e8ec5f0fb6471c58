"""A build of a folder of awkward photos: every unusable file is named with its reason, every usable one is
used, and ``celebamat verify`` accepts everything the build wrote."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

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
def awkward_folder(tmp_path_factory) -> Path:
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
    return d


EXPECTED_SKIPS = {
    "corrupt.jpg": "unreadable file",
    "empty.png": "empty file",
    "no_face.png": "no face",
    "two_faces.jpg": "several faces",
    "zero_sidecar.jpg": "no skin",
}


def test_awkward_folder_build_names_every_skip_and_verifies(awkward_folder, tmp_path, tiny_library_dir,
                                                             recipe_factory):
    recipe = load_recipe(recipe_factory(tmp_path / "awk.toml", tiny_library_dir, source=f"folder:{awkward_folder}",
                                        train=8))
    out = tmp_path / "ds"
    report = build_dataset(recipe, out, workers=1, progress=False)
    skipped = {Path(s["face"].split(":", 1)[1]).name: s for s in report.skipped}
    assert {k: s["reason"] for k, s in skipped.items()} == EXPECTED_SKIPS
    assert "zero_sidecar.mask.png" in skipped["zero_sidecar.jpg"]["detail"]
    manifest = json.loads((out / "manifest.json").read_text())
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
