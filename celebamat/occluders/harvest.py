"""Harvest real occluders from CelebAMask-HQ: hair fringes and locks, hats, glasses, earrings, necklaces.

Every CelebAMask-HQ photo comes with part masks; the faces a paper-scale build filters out as already occluded
(glasses, hats) are natural donors. A part is cut out of its donor photo with a soft alpha from closed-form
matting (:mod:`celebamat.occluders.matting`), so hair strands and frame edges keep their real transparency and
the donor's background does not travel along. Each asset's anchors are the donor's own face landmarks (eye
centres for glasses; forehead and temples for hats and fringes; temple and jaw for locks; ear and jaw for
earrings; jaw and chin for necklaces): placement fits the donor's landmarks onto the target's, so the donor's
glasses sit on the target's eyes and its fringe starts from the target's hairline.

Splits follow the donor identity (CelebA identities when the mapping files are present, else the image):
every asset of one identity lands in the same asset split, so an identity never feeds two splits.

Size: about 570 lines in three parts that belong together: the geometry of a cut, the five harvest kinds built
on it, and the donor loop that runs them in workers and writes the library. Which split a build gives each
identity comes in as an argument (``build_splits``, from :func:`celebamat.dataset.scan.build_splits_of`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from celebamat.errors import AssetError, CelebAMatError
from celebamat.occluders.asset import OccluderAsset, write_asset
from celebamat.occluders.matting import MAX_SIDE, matte_mask
from celebamat.utils.hashing import stable_split

#: What can be harvested, in the order they are tried on each donor.
HARVEST_KINDS = ("glasses", "hat", "fringe", "lock", "earring", "necklace")
#: CelebAMask-HQ part that each harvest kind is cut from.
PART_OF = {"glasses": "eye_g", "hat": "hat", "fringe": "hair", "lock": "hair", "earring": "ear_r",
           "necklace": "neck_l"}
_LAYER = {"glasses": 35, "hat": 36, "fringe": 10, "lock": 10, "earring": 34, "necklace": 33}
#: Lens luminance below this share of the donor's skin luminance makes glasses sunglasses.
DARK_LENS = 0.5
#: ... and below this share when no eye is annotated behind the lens (tinted glasses).
TINTED_LENS = 0.75
#: Minimum share of the forehead band that hair must cover to make a fringe, of the side band for a lock.
MIN_FRINGE_COVER = 0.25
MIN_LOCK_COVER = 0.06


@dataclass(frozen=True)
class Donor:
    """One donor photo with what harvesting needs.

    Attributes:
        key: the face key (``celebamask-hq:<nnnnn>``).
        identity: the donor's identity (CelebA identity, or the image's own).
        image: ``(H, W, 3)`` uint8 photo (CelebA-HQ: 1024 px).
        parts: part name -> ``(H, W)`` bool mask at the photo's size.
        anchors: named face anchors (:func:`celebamat.landmarks.face_anchors`) in photo pixels.
        iod: inter-ocular distance in photo pixels.
    """

    key: str
    identity: str
    image: np.ndarray
    parts: dict[str, np.ndarray]
    anchors: dict[str, np.ndarray]
    iod: float


@dataclass(frozen=True)
class Cut:
    """A harvested occluder before it is written: pixels, anchors (asset pixels) and placement metadata."""

    kind: str  # harvest kind, one of HARVEST_KINDS
    asset_kind: str  # occluder kind: hair or accessory
    subtype: str
    rgba: np.ndarray
    anchors: dict[str, list[float]]
    targets: dict[str, str]
    tags: dict[str, Any] = field(default_factory=dict)


@dataclass
class HarvestReport:
    """What a harvest wrote and skipped, with timings."""

    assets: list[OccluderAsset] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    donors: int = 0
    seconds: float = 0.0
    matting_seconds: float = 0.0

    def counts(self) -> dict[str, dict[str, int]]:
        """``{subtype: {"train": n, "test": m}}`` of the written assets."""
        out: dict[str, dict[str, int]] = {}
        for a in self.assets:
            out.setdefault(a.subtype, {"train": 0, "test": 0})[a.split] += 1
        return out


def identity_split(identity: str, test_fraction: float) -> str:
    """``"test"`` for a stable ``test_fraction`` of identities (by hash), else ``"train"``."""
    return stable_split(identity, test_fraction)


# -- geometry helpers -----------------------------------------------------------------------------------------

def _box_of(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _grow_box(box: tuple[int, int, int, int], points: Iterable[np.ndarray], margin: float, w: int, h: int
              ) -> tuple[int, int, int, int]:
    """``box`` grown to hold ``points`` and a margin, clipped to the image."""
    x0, y0, x1, y1 = box
    for p in points:
        x0, y0, x1, y1 = min(x0, p[0]), min(y0, p[1]), max(x1, p[0]), max(y1, p[1])
    m = int(np.ceil(margin))
    return (max(0, int(np.floor(x0)) - m), max(0, int(np.floor(y0)) - m), min(w, int(np.ceil(x1)) + m),
            min(h, int(np.ceil(y1)) + m))


def fade_window(region: tuple[float, float, float, float], fade: float, sides: Sequence[str]
                ) -> Callable[[int, int, int, int], np.ndarray]:
    """Weights for a cut through hair: 1 inside ``region`` ``(x0, y0, x1, y1)`` (photo pixels), falling linearly
    to 0 over ``fade`` pixels towards each of its ``sides`` (``top``, ``bottom``, ``left``, ``right``), so a cut
    edge fades out instead of ending in a straight line.

    Returns:
        ``f(bx0, by0, bx1, by1) -> (by1-by0, bx1-bx0)`` float32 weights in [0, 1] on that crop of the photo.
    """
    x0, y0, x1, y1 = region
    f = max(float(fade), 1.0)

    def window(bx0: int, by0: int, bx1: int, by1: int) -> np.ndarray:
        ys = np.arange(by0, by1, dtype=np.float32) + 0.5
        xs = np.arange(bx0, bx1, dtype=np.float32) + 0.5
        wy, wx = np.ones_like(ys), np.ones_like(xs)
        if "top" in sides:
            wy = np.minimum(wy, (ys - y0) / f)
        if "bottom" in sides:
            wy = np.minimum(wy, (y1 - ys) / f)
        if "left" in sides:
            wx = np.minimum(wx, (xs - x0) / f)
        if "right" in sides:
            wx = np.minimum(wx, (x1 - xs) / f)
        return np.clip(wy, 0, 1)[:, None] * np.clip(wx, 0, 1)[None, :]

    return window


def _luma(rgb: np.ndarray, sel: np.ndarray) -> float:
    if not sel.any():
        return float("nan")
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    return float(np.median(lab[..., 0][sel]))


def _disc(shape: tuple[int, int], center: np.ndarray, radius: float) -> np.ndarray:
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    return (xx - center[0]) ** 2 + (yy - center[1]) ** 2 <= radius**2


def _cut(donor: Donor, mask: np.ndarray, anchor_names: dict[str, str], *, max_side: int,
         window: Callable[[int, int, int, int], np.ndarray] | None = None, sure_bg: np.ndarray | None = None
         ) -> tuple[np.ndarray, dict[str, list[float]]]:
    """Matte ``mask`` out of the donor photo in a box holding the mask and the named anchors.

    Args:
        mask: ``(H, W)`` bool object mask in photo pixels.
        anchor_names: asset anchor name -> donor face anchor name.
        window: ``f(x0, y0, x1, y1) -> (y1-y0, x1-x0)`` float weights in [0, 1] multiplied into the alpha
            (fades a cut through hair so that it blends into the target's own hair).
        sure_bg: ``(H, W)`` bool pixels that are surely not the object (a clear lens, the donor's eyes).

    Returns:
        ``(rgba, anchors)``: uint8 straight RGBA at the working size, anchors in its pixels.
    """
    h, w = mask.shape
    box = _box_of(mask)
    if box is None:
        raise AssetError("empty part mask")
    pts = [donor.anchors[v] for v in anchor_names.values()]
    x0, y0, x1, y1 = _grow_box(box, pts, 0.08 * donor.iod, w, h)
    crop = donor.image[y0:y1, x0:x1]
    bg = None if sure_bg is None else sure_bg[y0:y1, x0:x1]
    m = matte_mask(crop, mask[y0:y1, x0:x1], max_side=max_side, sure_bg=bg)
    rgba = m.rgba
    if window is not None:
        wgt = cv2.resize(window(x0, y0, x1, y1).astype(np.float32), rgba.shape[1::-1], interpolation=cv2.INTER_AREA)
        rgba = rgba.copy()
        rgba[..., 3] = np.rint(rgba[..., 3] * np.clip(wgt, 0, 1)).astype(np.uint8)
    rh, rw = rgba.shape[:2]
    anchors = {}
    for name, face_name in anchor_names.items():
        p = (donor.anchors[face_name] - (x0, y0)) * m.scale
        anchors[name] = [float(np.clip(p[0], 0, rw)), float(np.clip(p[1], 0, rh))]
    if rgba[..., 3].max() == 0:
        raise AssetError("the matte is empty")
    return rgba, anchors


# -- the harvest kinds ------------------------------------------------------------------------------------------

def _glasses(d: Donor, max_side: int) -> list[Cut]:
    g = d.parts.get("eye_g")
    if g is None or g.sum() < (0.3 * d.iod) ** 2:
        return []
    r = 0.24 * d.iod
    discs = _disc(g.shape, d.anchors["eye_left"], r) | _disc(g.shape, d.anchors["eye_right"], r)
    lens = discs & g
    eyes = np.zeros_like(g)
    for p in ("l_eye", "r_eye"):
        if p in d.parts:
            eyes |= d.parts[p]
    skin = d.parts.get("skin", np.zeros_like(g)) & ~g
    lens_l, skin_l = _luma(d.image, lens), _luma(d.image, skin)
    eyes_seen = (eyes & discs).sum() / max(discs.sum(), 1)
    ratio = lens_l / skin_l if np.isfinite(lens_l) and np.isfinite(skin_l) and skin_l > 0 else 1.0
    # A dark lens is a sunglass; a tinted one too when the annotators saw no eye behind it.
    sun = bool(ratio < DARK_LENS or (eyes_seen < 0.01 and ratio < TINTED_LENS))
    sure_bg = None
    if not sun:
        # A clear lens shows the donor's eye and skin: those pixels are not the occluder.
        lab = cv2.cvtColor(d.image, cv2.COLOR_RGB2Lab).astype(np.float32)
        ref = np.median(lab[skin], axis=0) if skin.any() else np.median(lab[lens], axis=0)
        skin_like = np.linalg.norm(lab - ref, axis=2) < 22.0
        eyes_grown = cv2.dilate(eyes.astype(np.uint8), np.ones((5, 5), np.uint8), iterations=2) > 0
        # The middle of each lens holds the donor's eye (lashes, iris) whatever its annotation: never the frame.
        middle = (_disc(g.shape, d.anchors["eye_left"], 0.2 * d.iod)
                  | _disc(g.shape, d.anchors["eye_right"], 0.2 * d.iod))
        sure_bg = (lens & skin_like) | eyes_grown | middle
    names = {"eye_left": "eye_left", "eye_right": "eye_right"}
    rgba, anchors = _cut(d, g, names, max_side=max_side, sure_bg=sure_bg)
    tags = {"lens_luminance": round(float(ratio), 3), "eyes_visible": round(float(eyes_seen), 3)}
    return [Cut("glasses", "accessory", "sunglasses" if sun else "eyeglasses", rgba, anchors, dict(names), tags)]


def _whole_part(kind: str, min_side: float, anchor_names: Sequence[str]) -> Callable[[Donor, int], list[Cut]]:
    """An extractor that cuts the whole part mask of ``kind`` (a hat, a necklace) when it spans at least
    ``min_side`` inter-ocular distances squared, anchored at the donor's ``anchor_names``."""
    def extract(d: Donor, max_side: int) -> list[Cut]:
        m = d.parts.get(PART_OF[kind])
        if m is None or m.sum() < (min_side * d.iod) ** 2:
            return []
        names = {n: n for n in anchor_names}
        rgba, anchors = _cut(d, m, names, max_side=max_side)
        return [Cut(kind, "accessory", kind, rgba, anchors, dict(names))]
    return extract


def _fringe(d: Donor, max_side: int) -> list[Cut]:
    hair = d.parts.get("hair")
    if hair is None:
        return []
    a, iod = d.anchors, d.iod
    top = float(a["hairline"][1])
    brow = float(min(a["brow_left"][1], a["brow_right"][1]))
    xl, xr = float(a["temple_left"][0]), float(a["temple_right"][0])
    # The forehead proper (mid forehead to just above the brows, between the brows): hair there is a fringe;
    # hair at the hairline above it is not.
    band = np.zeros_like(hair)
    fy0, fy1 = a["forehead"][1] - 0.2 * iod, brow - 0.05 * iod
    band[int(max(0, fy0)): int(max(fy0 + 1, fy1)), int(a["brow_left"][0]): int(a["brow_right"][0])] = True
    cover = (hair & band).sum() / max(band.sum(), 1)
    if cover < MIN_FRINGE_COVER:
        return []
    # The fringe: hair over the face from above the hairline down to the cheeks, faded in at the top and sides.
    y0, y1 = int(max(0, top - 0.5 * iod)), int(min(hair.shape[0], a["eyes_center"][1] + 0.9 * iod))
    x0, x1 = int(max(0, xl - 0.35 * iod)), int(min(hair.shape[1], xr + 0.35 * iod))
    region = np.zeros_like(hair)
    region[y0:y1, x0:x1] = True
    # Below the brows keep only hair in front of the face (bangs over the eyes), not hair beside it.
    region[int(brow):, : int(max(0, xl + 0.1 * iod))] = False
    region[int(brow):, int(xr - 0.1 * iod):] = False
    part = hair & region
    window = fade_window((x0, y0, x1, y1), 0.3 * iod, ("top", "left", "right"))
    names = {"temple_left": "temple_left", "temple_right": "temple_right", "forehead": "forehead"}
    rgba, anchors = _cut(d, part, names, max_side=max_side, window=window)
    return [Cut("fringe", "hair", "fringe", rgba, anchors, dict(names),
                {"recolor": "hair", "forehead_cover": round(float(cover), 3)})]


def _locks(d: Donor, max_side: int) -> list[Cut]:
    hair, skin = d.parts.get("hair"), d.parts.get("skin")
    if hair is None or skin is None:
        return []
    a, iod = d.anchors, d.iod
    out = []
    y0 = int(max(0, a["eyes_center"][1] - 0.3 * iod))
    y1 = int(min(hair.shape[0], a["chin"][1] + 0.3 * iod))
    face_span = (skin | hair)
    for side, sign in (("left", -1), ("right", 1)):
        jaw, temple = a[f"jaw_{side}"], a[f"temple_{side}"]
        inner = float(a[f"eye_{side}"][0])
        outer = float(jaw[0] + sign * 1.0 * iod)
        x0, x1 = int(max(0, min(inner, outer))), int(min(hair.shape[1], max(inner, outer)))
        # The lock reaches to the face's middle; it fades out at the top, the bottom and away from the face.
        x0, x1 = (x0, int(a["face_center"][0])) if side == "left" else (int(a["face_center"][0]), x1)
        region = np.zeros_like(hair)
        region[y0:y1, x0:x1] = True
        # Hair lying over what would be the face: between the face's edge (jaw/temple line) and the eye.
        over = np.zeros_like(hair)
        edge = float(min(jaw[0], temple[0]) if side == "left" else max(jaw[0], temple[0]))
        ox0, ox1 = (int(edge), int(inner)) if side == "left" else (int(inner), int(edge))
        over[y0:y1, max(0, ox0):max(0, ox1)] = True
        cover = (hair & over).sum() / max((over & face_span).sum(), 1)
        if cover < MIN_LOCK_COVER:
            continue
        part = hair & region
        window = fade_window((x0, y0, x1, y1), 0.3 * iod, ("top", "bottom", side))
        names = {f"temple_{side}": f"temple_{side}", f"jaw_{side}": f"jaw_{side}"}
        try:
            rgba, anchors = _cut(d, part, names, max_side=max_side, window=window)
        except AssetError:
            continue
        out.append(Cut("lock", "hair", "lock", rgba, anchors, dict(names),
                       {"recolor": "hair", "side": side, "cheek_cover": round(float(cover), 3)}))
    return out


def _components(mask: np.ndarray, min_area: float) -> list[np.ndarray]:
    n, lab, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return [lab == i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= min_area]


def _earrings(d: Donor, max_side: int) -> list[Cut]:
    m = d.parts.get("ear_r")
    if m is None:
        return []
    out = []
    cx = float(d.anchors["face_center"][0])
    for comp in _components(m, (0.06 * d.iod) ** 2):
        box = _box_of(comp)
        side = "left" if (box[0] + box[2]) / 2 < cx else "right"
        names = {f"ear_{side}": f"ear_{side}", f"jaw_{side}": f"jaw_{side}"}
        try:
            rgba, anchors = _cut(d, comp, names, max_side=max_side)
        except AssetError:
            continue
        out.append(Cut("earring", "accessory", "earring", rgba, anchors, dict(names), {"side": side}))
    return out


_EXTRACTORS: dict[str, Callable[[Donor, int], list[Cut]]] = {
    "glasses": _glasses, "hat": _whole_part("hat", 0.5, ("temple_left", "temple_right", "forehead")),
    "fringe": _fringe, "lock": _locks, "earring": _earrings,
    "necklace": _whole_part("necklace", 0.15, ("jaw_left", "jaw_right", "chin")),
}


# -- donors ------------------------------------------------------------------------------------------------------

def load_donor(source: Any, key: str, parts: Sequence[str]) -> Donor:
    """Read one CelebAMask-HQ donor: photo, the part masks at photo size, landmarks and anchors.

    Args:
        source: a :class:`celebamat.faces.celebamask.CelebAMaskHQSource`.
        key: ``celebamask-hq:<nnnnn>``.
        parts: occluder parts wanted (``eye_g``, ``hat``, ...); ``skin``, ``l_eye``, ``r_eye`` are always read.

    Raises:
        CelebAMatError: naming the file when the photo is unreadable or no face is found.
    """
    from celebamat.faces.celebamask import IMAGE_DIR
    from celebamat.faces.io import ImageReadError, read_image, read_mask_u8
    from celebamat.landmarks import face_anchors, face_frame, get_landmarker

    n = source.index(key)
    path = source.root / IMAGE_DIR / f"{n}.jpg"
    try:
        image = read_image(path)
    except ImageReadError as exc:
        raise CelebAMatError(f"{path}: {exc.reason}, {exc.detail}") from None
    h, w = image.shape[:2]
    masks: dict[str, np.ndarray] = {}
    for part, p in source.part_paths(n).items():
        if part in (*parts, "skin", "l_eye", "r_eye") and p.is_file():
            m = read_mask_u8(p).astype(np.float32)
            masks[part] = cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR) > 127
    small = cv2.resize(image, (512, 512), interpolation=cv2.INTER_AREA)
    faces = get_landmarker().mesh(small)
    if not faces:
        raise CelebAMatError(f"{path}: the face mesh found no face")
    lm = faces[0].astype(np.float64) * (w / 512.0, h / 512.0)
    anchors = face_anchors(lm)
    return Donor(key=key, identity=source.identity(key) or key, image=image, parts=masks, anchors=anchors,
                 iod=face_frame(lm, anchors).iod)


def harvest_donor(donor: Donor, kinds: Sequence[str], max_side: int = MAX_SIDE) -> tuple[list[Cut], list[str]]:
    """Every occluder of the wanted kinds in one donor; returns ``(cuts, faults)`` (faults name the kind)."""
    cuts, faults = [], []
    for k in kinds:
        try:
            cuts.extend(_EXTRACTORS[k](donor, max_side))
        except AssetError as exc:
            faults.append(f"{k}: {exc}")
    return cuts, faults


def cut_metadata(cut: Cut, key: str, identity: str, index: int, split: str, source_note: str, license: str
                 ) -> dict[str, Any]:
    """Asset metadata of a harvested cut: landmark-to-landmark placement with small jitter."""
    n = key.split(":")[-1]
    w = cut.rgba.shape[1]
    return {
        "id": f"harvest-{cut.subtype}-{n}-{index}", "kind": cut.asset_kind, "subtype": cut.subtype,
        "anchors": cut.anchors, "targets": cut.targets,
        # The scale comes from the landmark fit; this range is jitter on top of it.
        "scale": {"measure": "iod", "length": float(w), "range": [0.96, 1.04]},
        "rotation": [-4.0, 4.0], "mirror": True, "zones": [], "layer": _LAYER[cut.kind], "split": split,
        "license": license, "source": source_note,
        "tags": {"harvested": True, "donor": key, "identity": identity, "part": PART_OF[cut.kind],
                 "matting": "pymatting closed-form + ml foreground", **cut.tags},
    }


@dataclass
class DonorResult:
    """What one donor gave (computed in a worker): cuts with their split, skips, timings."""

    key: str
    cuts: list[tuple[Cut, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    identity: str = ""
    read: bool = False
    matting_seconds: float = 0.0


_SOURCES: dict[str, Any] = {}


def _source(root: Path) -> Any:
    """One :class:`CelebAMaskHQSource` per root and process (its listings are cached)."""
    import warnings

    from celebamat.faces.celebamask import CelebAMaskHQSource

    if str(root) not in _SOURCES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the identity note is reported once by harvest()
            src = CelebAMaskHQSource(f"celebamask-hq:{root}", root)
            src.identity(src.keys()[0]) if src.keys() else None
        _SOURCES[str(root)] = src
    return _SOURCES[str(root)]


def donor_split(identity: str, test_fraction: float, build_splits: dict[str, str] | None) -> str | None:
    """Asset split of a donor identity: the build's own split of that identity when known (``None`` for a
    validation identity: validation rows draw train occluders, so its occluders could only leak), else a stable
    hash split."""
    if build_splits is not None and identity in build_splits:
        return {"train": "train", "test": "test"}.get(build_splits[identity])
    return identity_split(identity, test_fraction)


def harvest_key(root: Path, key: str, kinds: Sequence[str], max_side: int, test_fraction: float,
                build_splits: dict[str, str] | None = None) -> DonorResult:
    """Harvest one donor (a worker's task): part check, donor load, every wanted kind, the split."""
    source = _source(root)
    res = DonorResult(key=key)
    paths = source.part_paths(source.index(key))
    have = [k for k in kinds if paths[PART_OF[k]].is_file()]
    if not have:
        res.skipped.append((key, "no part mask of the wanted kinds (" + ", ".join(sorted({PART_OF[k] for k in kinds}))
                            + ")"))
        return res
    identity = source.identity(key) or key
    split = donor_split(identity, test_fraction, build_splits)
    if split is None:
        res.skipped.append((key, f"identity {identity} is in the build's validation split; validation rows draw "
                                 "train occluders, so its occluders would reach rows of another split"))
        return res
    try:
        donor = load_donor(source, key, sorted({PART_OF[k] for k in kinds}))
    except CelebAMatError as exc:
        res.skipped.append((key, str(exc)))
        return res
    res.read, res.identity = True, identity
    tm = time.perf_counter()
    cuts, faults = harvest_donor(donor, have, max_side)
    res.matting_seconds = time.perf_counter() - tm
    res.skipped.extend((key, f) for f in faults)
    if not cuts:
        res.skipped.append((key, "parts present but too small or not over the face (" + ", ".join(have) + ")"))
    res.cuts = [(c, split) for c in cuts]
    return res


def harvest(root: str | Path, out_dir: str | Path, *, kinds: Sequence[str] = HARVEST_KINDS,
            max_per_kind: int | None = None, limit: int | None = None, test_fraction: float = 0.2,
            max_side: int = MAX_SIDE, build_splits: dict[str, str] | None = None, workers: int = 1,
            progress: bool = True) -> HarvestReport:
    """Harvest occluders from a CelebAMask-HQ folder into an asset library.

    Args:
        root: CelebAMask-HQ root (``celebamask-hq:ROOT`` or the bare folder).
        out_dir: library folder to write (PNG + JSON per asset, and ``harvest-skipped.tsv``).
        kinds: subset of :data:`HARVEST_KINDS`.
        max_per_kind: stop harvesting a kind once it has this many assets.
        limit: look at the first ``limit`` donors only (by image number).
        test_fraction: share of identities whose occluders go to the test split (identities a build uses
            follow ``build_splits`` instead).
        max_side: longest side of the matted crops (and so of the assets), pixels.
        build_splits: identity -> split of a planned build
            (:func:`celebamat.dataset.scan.build_splits_of`), or ``None``.
        workers: processes (joblib); the output is the same bytes whatever the count.

    Returns:
        A :class:`HarvestReport`; donors and parts that gave nothing are listed in ``skipped`` with the reason.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    from celebamat.faces.celebamask import CELEBAMASK_LICENSE

    bad = [k for k in kinds if k not in HARVEST_KINDS]
    if bad:
        raise CelebAMatError(f"unknown harvest kind {bad[0]!r}; allowed: {', '.join(HARVEST_KINDS)}")
    if not 0.0 <= test_fraction <= 1.0:
        raise CelebAMatError(f"test_fraction must be in [0, 1], got {test_fraction!r}")
    if workers < 1:
        raise CelebAMatError(f"workers must be at least 1, got {workers}")
    root = Path(str(root).removeprefix("celebamask-hq:"))
    source = _source(root)
    keys = source.keys()[: limit if limit is not None else None]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = HarvestReport()
    if source.identity_note:
        report.skipped.append(("(identities)", source.identity_note))
    done: dict[str, int] = {k: 0 for k in kinds}
    t0 = time.perf_counter()
    batch = max(1, 4 * workers)
    run = Parallel(n_jobs=workers, return_as="generator") if workers > 1 else None
    with tqdm(total=len(keys), desc="donors", unit="face", disable=not progress) as bar:
        for b in range(0, len(keys), batch):
            todo = [k for k in kinds if max_per_kind is None or done[k] < max_per_kind]
            if not todo:
                break
            chunk = keys[b: b + batch]
            tasks = (delayed(harvest_key)(root, key, todo, max_side, test_fraction, build_splits) for key in chunk)
            results = run(tasks) if run is not None else (f(*a, **kw) for f, a, kw in tasks)
            for res in results:  # in key order: the library does not depend on the worker count
                bar.update()
                report.skipped.extend(res.skipped)
                report.donors += res.read
                report.matting_seconds += res.matting_seconds
                n = source.index(res.key)
                for i, (cut, split) in enumerate(res.cuts):
                    if max_per_kind is not None and done[cut.kind] >= max_per_kind:
                        continue
                    note = (f"harvested from CelebAMask-HQ image {n} ({PART_OF[cut.kind]} mask) of {root.name}, "
                            "soft alpha by pymatting closed-form matting")
                    meta = cut_metadata(cut, res.key, res.identity, i, split, note, CELEBAMASK_LICENSE)
                    report.assets.append(write_asset(out_dir, meta, cut.rgba))
                    done[cut.kind] += 1
    report.seconds = time.perf_counter() - t0
    write_skipped(out_dir / "harvest-skipped.tsv", report.skipped)
    return report


def write_skipped(path: Path, skipped: Sequence[tuple[str, str]]) -> None:
    """Write ``(item, reason)`` rows as a TSV report (not JSON, so libraries never mistake it for an asset)."""
    lines = ["item\treason"] + [f"{k}\t{r.replace(chr(9), ' ').replace(os.linesep, ' ')}" for k, r in skipped]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
