"""Hand segmentation sets as distributed: 11k Hands, EgoHands, HIU-DMTL."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from celebamat.errors import AssetError
from celebamat.occluders.presets.base import IMAGE_EXTS, Item, Skip, images_in, pair_loader, read_rgb

# -- 11k Hands ----------------------------------------------------------------------------------------------------

#: Near-white background of the 11k Hands photos: a pixel is hand when its darkest channel is below this.
WHITE_LEVEL = 200


def mask_on_white(rgb: np.ndarray) -> np.ndarray:
    """Binary mask (0/255) of the object photographed on a uniform white background: non-white pixels, the
    largest connected component, holes filled."""
    dark = (rgb.min(axis=2) < WHITE_LEVEL) | (rgb.max(axis=2).astype(int) - rgb.min(axis=2) > 40)
    m = cv2.morphologyEx(dark.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    if n < 2:
        raise AssetError("no object found on the white background")
    big = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    obj = (lab == big).astype(np.uint8)
    filled = obj.copy()
    ff = np.zeros((obj.shape[0] + 2, obj.shape[1] + 2), np.uint8)
    inv = (1 - obj).astype(np.uint8)
    cv2.floodFill(inv, ff, (0, 0), 2)
    filled[inv == 1] = 1  # background not reachable from the corner = holes
    return filled * 255


def _hands_dir(src: Path) -> Path | None:
    for cand in (src / "Hands", src):
        if cand.is_dir() and any(cand.glob("Hand_*.jpg")):
            return cand
    return None


def read_11k(src: Path) -> Iterator[Item | Skip]:
    """11k Hands (Afifi): ``Hands/Hand_<n>.jpg`` and ``HandInfo.csv`` (id, age, gender, skinColor, accessories,
    nailPolish, aspectOfHand, imageName, irregularities). Masks come from a ``masks/`` (or ``Hands_masks/``)
    folder with the same stems when present, otherwise from the uniform white background. The split follows the
    subject ``id``; photos marked irregular are skipped."""
    hands = _hands_dir(src)
    if hands is None:
        yield Skip(str(src), "no Hands/Hand_*.jpg found (11k Hands layout: Hands/ and HandInfo.csv)")
        return
    info_path = next((p for p in (src / "HandInfo.csv", hands.parent / "HandInfo.csv", hands / "HandInfo.csv")
                      if p.is_file()), None)
    info: dict[str, dict[str, str]] = {}
    if info_path is None:
        yield Skip(str(src / "HandInfo.csv"), "not found: subjects unknown, each photo is its own group")
    else:
        with info_path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row.get("imageName"):
                    info[row["imageName"].strip()] = row
    mask_dir = next((d for d in (src / "masks", src / "Hands_masks", hands.parent / "masks") if d.is_dir()), None)
    masks = {p.stem: p for p in images_in(mask_dir)} if mask_dir else {}
    for p in sorted(hands.glob("Hand_*.jpg")):
        row = info.get(p.name, {})
        if row.get("irregularities", "0").strip() == "1":
            yield Skip(str(p), "marked irregular in HandInfo.csv")
            continue
        aspect = row.get("aspectOfHand", "").strip().lower()
        tags = {"file": p.name, "subject": row.get("id", "").strip(), "aspect": aspect,
                "skin_color": row.get("skinColor", "").strip()}
        if p.stem in masks:
            load = pair_loader(p, masks[p.stem])
            tags["mask"] = "dataset mask"
        else:
            def load(p: Path = p) -> tuple[np.ndarray, np.ndarray]:
                rgb = read_rgb(p)
                return rgb, mask_on_white(rgb)
            tags["mask"] = "white background"
        yield Item(name=p.stem, load=load, kind="hand", subtype="imported",
                   group="11k:" + (tags["subject"] or p.stem), tags=tags)


# -- EgoHands -----------------------------------------------------------------------------------------------------

EGO_FIELDS = ("myleft", "myright", "yourleft", "yourright")


def _ego_root(src: Path) -> Path:
    return src / "_LABELLED_SAMPLES" if (src / "_LABELLED_SAMPLES").is_dir() else src


def read_egohands(src: Path) -> Iterator[Item | Skip]:
    """EgoHands (Bambach et al.): ``_LABELLED_SAMPLES/<VIDEO>/frame_<n>.jpg`` with ``polygons.mat`` per video (a
    1 x 100 struct array ``polygons`` with fields myleft, myright, yourleft, yourright: ``(N, 2)`` x, y outlines,
    empty where the hand is absent; entry k belongs to the k-th frame in name order). Each hand polygon is an
    item; the split follows the video."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    root = _ego_root(src)
    videos = sorted(d for d in root.iterdir() if d.is_dir())
    if not videos:
        yield Skip(str(root), "no video folders (EgoHands layout: _LABELLED_SAMPLES/<VIDEO>/polygons.mat)")
        return
    for vid in videos:
        mat = vid / "polygons.mat"
        frames = sorted(p for p in vid.iterdir() if p.suffix.lower() == ".jpg")
        if not mat.is_file():
            yield Skip(str(vid), "no polygons.mat")
            continue
        try:
            polys = loadmat(str(mat))["polygons"]
        except (MatReadError, OSError, ValueError, KeyError, NotImplementedError) as exc:
            yield Skip(str(mat), f"unreadable polygons.mat ({exc})")
            continue
        polys = polys.reshape(-1)
        if len(polys) != len(frames):
            yield Skip(str(mat), f"{len(polys)} annotations for {len(frames)} frames: matched in name order as far "
                       "as both go")
        for k, (frame, entry) in enumerate(zip(frames, polys)):
            for fld in EGO_FIELDS:
                try:
                    pts = np.asarray(entry[fld], dtype=np.float64).reshape(-1, 2)
                except (ValueError, KeyError, IndexError):
                    pts = np.zeros((0, 2))
                if pts.shape[0] < 3:
                    continue  # this hand is not in this frame

                def load(frame: Path = frame, pts: np.ndarray = pts) -> tuple[np.ndarray, np.ndarray]:
                    rgb = read_rgb(frame)
                    m = np.zeros(rgb.shape[:2], np.uint8)
                    cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 255)
                    return rgb, m

                yield Item(name=f"{vid.name}_{frame.stem}_{fld}", load=load, kind="hand", subtype="imported",
                           group=f"egohands:{vid.name}", tags={"file": f"{vid.name}/{frame.name}", "hand": fld,
                                                              "own_hand": fld.startswith("my")})


# -- HIU-DMTL -----------------------------------------------------------------------------------------------------

def _mask_of(img: Path, masks_by_dir: dict[Path, dict[str, Path]]) -> Path | None:
    stem = img.stem
    for suffix in ("_color", "_img", "_image", "_rgb"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    same = {p.stem: p for p in images_in(img.parent)}
    for cand in (f"{stem}_mask", f"{stem}_seg", f"{stem}-mask"):
        if cand in same:
            return same[cand]
    for d, by_stem in masks_by_dir.items():
        if d.parent == img.parent.parent or d.parent == img.parent:
            for cand in (img.stem, stem, f"{stem}_mask"):
                if cand in by_stem:
                    return by_stem[cand]
    return None


def read_hiu(src: Path) -> Iterator[Item | Skip]:
    """HIU-DMTL's HIU-Data (Zhang et al., ICCV 2021). Its archive is shared on request and its layout is not
    documented publicly, so this reader pairs every photo with its mask however the archive names them: a
    sibling folder whose name contains ``mask`` (same stem), or ``<stem>_mask`` beside the photo. Photos whose
    path contains ``test`` go to the test split; the rest split by file."""
    masks_by_dir = {d: {p.stem: p for p in images_in(d)} for d in sorted(src.rglob("*"))
                    if d.is_dir() and "mask" in d.name.lower()}
    found = False
    for img in sorted(src.rglob("*")):
        if not img.is_file() or img.suffix.lower() not in IMAGE_EXTS:
            continue
        if "mask" in img.stem.lower() or "mask" in img.parent.name.lower() or "seg" in img.stem.lower():
            continue
        m = _mask_of(img, masks_by_dir)
        rel = img.relative_to(src)
        if m is None:
            yield Skip(str(img), "no mask beside it (expected a masks folder with the same stem or <stem>_mask)")
            continue
        found = True
        test = any("test" in part.lower() for part in rel.parts[:-1])
        yield Item(name="_".join(rel.with_suffix("").parts), load=pair_loader(img, m), kind="hand",
                   subtype="imported", group=f"hiu:{rel}", split="test" if test else None,
                   tags={"file": str(rel)})
    if not found:
        yield Skip(str(src), "no photo + mask pairs found")
