"""Real hands cut out of photos (``celebamat occluders import hand DIR --matte hands``), on photos the tests make:
a bundled hand pasted on a textured background (its alpha is the truth), and a photo without a hand."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from celebamat.cli import main
from celebamat.landmarks import get_landmarker
from celebamat.occluders.handcut import hand_cutout

BUNDLED = Path(__file__).resolve().parents[3] / "assets" / "occluders"


def _hand_photo(asset: str = "hand-on_cheek-002", side: int = 420) -> tuple[np.ndarray, np.ndarray]:
    rgba = np.asarray(Image.open(BUNDLED / f"{asset}.png").convert("RGBA")).astype(np.float32)
    s = 320 / max(rgba.shape[:2])
    rgba = cv2.resize(rgba, (round(rgba.shape[1] * s), round(rgba.shape[0] * s)), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(3)
    bg = cv2.GaussianBlur(rng.uniform(40, 110, (side, side, 3)).astype(np.float32), (0, 0), 3)  # a dark, textured wall
    y0, x0 = (side - rgba.shape[0]) // 2, (side - rgba.shape[1]) // 2
    alpha = np.zeros((side, side), np.float32)
    alpha[y0:y0 + rgba.shape[0], x0:x0 + rgba.shape[1]] = rgba[..., 3] / 255.0
    fg = np.zeros((side, side, 3), np.float32)
    fg[y0:y0 + rgba.shape[0], x0:x0 + rgba.shape[1]] = rgba[..., :3]
    photo = bg * (1 - alpha[..., None]) + fg * alpha[..., None]
    return np.clip(photo + 0.5, 0, 255).astype(np.uint8), alpha


def test_hand_cutout_follows_the_hand(tmp_path):
    photo, truth = _hand_photo()
    (hand,) = get_landmarker().hands(photo)
    rgba, (x0, y0, x1, y1) = hand_cutout(photo, hand)
    assert rgba.shape[2] == 4 and rgba.dtype == np.uint8 and max(rgba.shape[:2]) <= 384
    cut = cv2.resize(rgba[..., 3], (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) > 127
    true = truth[y0:y1, x0:x1] > 0.5
    iou = (cut & true).sum() / (cut | true).sum()
    assert iou > 0.85, iou
    # Soft edges from the matting, not a binary mask.
    assert ((rgba[..., 3] > 20) & (rgba[..., 3] < 235)).sum() > 50


def test_import_cuts_hands_and_names_photos_without_one(tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    Image.fromarray(_hand_photo()[0]).save(src / "with hand.jpg", quality=95)
    Image.fromarray(np.full((300, 300, 3), 90, np.uint8)).save(src / "empty.png")
    out = tmp_path / "lib"
    assert main(["occluders", "import", "hand", str(src), "--matte", "hands", "--out", str(out),
                 "--split", "train"]) == 1  # one photo skipped: exit 1
    (meta_path,) = sorted(out.glob("*.json"))
    meta = json.loads(meta_path.read_text())
    assert meta["kind"] == "hand" and meta["subtype"] == "photo" and meta["split"] == "train"
    assert meta["id"] == "hand-photo-with_hand-0"
    assert "closed-form matting" in meta["source"] and meta["tags"]["cut_from_photo"]
    assert {"palm", "wrist"} <= set(meta["anchors"])  # placed by its landmarks, like any imported hand
    assert main(["occluders", "validate", str(out)]) == 0


def test_matte_hands_needs_the_hand_kind(tmp_path, capsys):
    (tmp_path / "p").mkdir()
    assert main(["occluders", "import", "hair", str(tmp_path / "p"), "--matte", "hands", "--out",
                 str(tmp_path / "lib")]) == 2
    assert "--matte hands cuts hands" in capsys.readouterr().err
