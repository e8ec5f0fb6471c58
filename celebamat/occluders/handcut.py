"""Real hands cut out of any photos: hand landmarks, a person mask, closed-form matting.

For users who have photos with hands in them (selfies, video frames, hand datasets without masks): every hand
mediapipe's hand landmarker finds becomes a hand asset, with its real shape, pose, texture and blur.

1. The hand landmarker gives 21 points per hand; a generous region around them (fingers, palm and the start of
   the forearm, :func:`celebamat.hands.hand_mask`) bounds the hand.
2. Inside that region, the hand is the person (mediapipe's selfie segmentation counts hands as person) or, where
   the photo has no person around the hand (a hand on a table), pixels of the hand's own colour, sampled along
   its bones.
3. Closed-form matting (:func:`celebamat.occluders.matting.matte_mask`, pymatting) turns that mask into a soft
   alpha and clean foreground colours; the bones are surely hand, far from the region is surely not.
4. The asset is written like any imported hand (as :func:`celebamat.occluders.importers.import_rgba_folder` writes them): palm and
   wrist anchors from the landmarks, the forearm entering from the crop's edge where it was cut.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from celebamat.errors import AssetError
from celebamat.hands import hand_mask, palm_width
from celebamat.occluders.asset import OccluderAsset
from celebamat.occluders.matting import matte_mask

#: A hand narrower than this (palm width, px) is too small to make an asset of.
MIN_PALM_WIDTH = 24.0
#: The region around a hand's landmarks that may hold it: finger and forearm widths in palm widths.
REGION = dict(finger_width=0.7, forearm_length=1.6, forearm_width=1.3, feather=0.0)
#: The hand's core, surely hand in the trimap: thin bones.
CORE = dict(finger_width=0.12, forearm_length=0.0, feather=0.0)
#: Skin-colour distance (RGB, 0-255) within which a pixel matches the hand where no person mask covers it.
COLOUR_TOLERANCE = 45.0


def _colour_mask(rgb: np.ndarray, core: np.ndarray) -> np.ndarray:
    """Pixels whose colour is within :data:`COLOUR_TOLERANCE` of the median colour on the hand's bones."""
    ref = np.median(rgb[core].reshape(-1, 3).astype(np.float32), axis=0)
    dist = np.linalg.norm(rgb.astype(np.float32) - ref, axis=-1)
    return dist < COLOUR_TOLERANCE


def hand_cutout(rgb: np.ndarray, landmarks: np.ndarray, person: np.ndarray | None = None,
                max_side: int = 384) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """One hand of a photo as an RGBA cut-out.

    Args:
        rgb: ``(H, W, 3)`` uint8 photo.
        landmarks: ``(21, 2)`` hand landmarks in photo pixels.
        person: ``(H, W)`` float person probability in [0, 1], or ``None`` (colour only).
        max_side: matting resolution (longest side of the crop).

    Returns:
        ``(rgba, box)``: ``(h, w, 4)`` uint8 RGBA crop around the hand (at most ``max_side`` on its longest side)
        and the crop's box ``(x0, y0, x1, y1)`` in photo pixels.

    Raises:
        AssetError: the hand is too small, or nothing of it is left after masking.
    """
    h, w = rgb.shape[:2]
    pw = palm_width(landmarks)
    if pw < MIN_PALM_WIDTH:
        raise AssetError(f"hand too small ({pw:.0f} px across the knuckles, at least {MIN_PALM_WIDTH:.0f})")
    region = hand_mask([landmarks], (h, w), **REGION) > 0.5
    core = (hand_mask([landmarks], (h, w), **CORE) > 0.5) & region
    candidate = _colour_mask(rgb, core)
    if person is not None and (person[core] > 0.5).mean() > 0.5:
        candidate = person > 0.5  # the person mask covers the hand: trust it over colour
    mask = region & (candidate | core)
    ys, xs = np.nonzero(region)
    pad = int(round(0.3 * pw))
    y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    sure_bg = ~cv2.dilate(region[y0:y1, x0:x1].astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2).astype(bool)
    matte = matte_mask(crop, mask[y0:y1, x0:x1], max_side=max_side, sure_bg=sure_bg, sure_fg=core[y0:y1, x0:x1])
    rgba = matte.rgba
    # Cut the forearm where the region ends: nothing of the matte outside the region.
    reg = cv2.resize(region[y0:y1, x0:x1].astype(np.uint8), rgba.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    rgba[..., 3] = np.where(reg > 0, rgba[..., 3], 0)
    if int((rgba[..., 3] > 127).sum()) < 64:
        raise AssetError("nothing of the hand is left after matting")
    return rgba, (int(x0), int(y0), int(x1), int(y1))


def cut_hands_from_photos(src: str | Path, out_dir: str | Path, *, subtype: str = "photo",
                          license: str = "unknown (see source)", split: str | None = None,
                          test_fraction: float = 0.2, max_size: int = 512, overwrite: bool = False,
                          max_hands: int = 4) -> tuple[list[OccluderAsset], list[tuple[str, str]]]:
    """Cut every hand out of every photo of ``src`` into hand assets in ``out_dir``.

    Returns ``(assets, skipped)``: a photo with no hand, or a hand that cannot be cut, is skipped with its reason
    (a photo's hands are named ``<stem>-<k>``). Ids as :func:`celebamat.occluders.importers.import_rgba_folder`.
    """
    from celebamat.landmarks import get_landmarker
    from celebamat.occluders.importers import AssetIds, _images, _open_image, _write_imported, asset_stem

    src, out_dir = Path(src), Path(out_dir)
    if not src.is_dir():
        raise AssetError(f"import source {src} is not a folder")
    lm = get_landmarker()
    ids = AssetIds(out_dir, overwrite)
    assets, skipped = [], []
    for p in _images(src):
        try:
            with _open_image(p) as im:
                rgb = np.asarray(im.convert("RGB"))
            hands = lm.hands(rgb)[:max_hands]
            if not hands:
                raise AssetError("no hand found by the hand landmarker")
            person = lm.person_mask(rgb)
        except (AssetError, OSError, ValueError, MemoryError, Image.DecompressionBombError) as exc:
            skipped.append((str(p), str(exc)))
            continue
        for k, landmarks in enumerate(hands):
            name = f"{p.stem}-{k}"
            try:
                asset_id = ids.claim(f"hand-{subtype}-{asset_stem(name)}", f"{p.name} hand {k}")
                rgba, _ = hand_cutout(rgb, landmarks, person)
                assets.append(_write_imported(rgba, name, "hand", subtype, out_dir,
                                             source=f"cut from {p} (hand {k}: hand landmarks, person mask, "
                                                    "closed-form matting)",
                                             license=license, split=split, test_fraction=test_fraction,
                                             max_size=max_size, asset_id=asset_id,
                                             tags={"cut_from_photo": True}))
            except (AssetError, OSError, ValueError, MemoryError) as exc:
                skipped.append((f"{p} hand {k}", str(exc)))
    return assets, skipped
