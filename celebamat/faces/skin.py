"""Skin mattes as pure functions: the CelebAMask-HQ part logic and the landmark-derived matte.

The skin matte of a clean face is the foreground of face matting: ``(H, W)`` float32 in [0, 1], 1 on
visible face skin. "Skin" is the one definition of ``docs/faces.md`` (the dataset card states it too): face
skin including beard and moustache, brows, eyes with lids and lashes, nose, lips, mouth interior and teeth;
not scalp hair, hats, glasses, ears, neck, clothes or any object. In CelebAMask-HQ parts that is
:data:`DEFAULT_SKIN_PARTS` painted in the dataset's order (hair, hat and eyeglasses cover skin; the dataset
annotates beards as skin); :func:`landmark_skin` estimates it for photos without annotation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import cv2
import numpy as np

from celebamat.landmarks import BROW_LEFT, BROW_RIGHT, EYE_LEFT_RING, EYE_RIGHT_RING, FACE_OVAL, LIPS_OUTER

# ---------------------------------------------------------------------------------------------------------
# CelebAMask-HQ parts

#: CelebAMask-HQ part names in the order the dataset paints them (a later part covers an earlier one).
CELEBAMASK_PARTS = (
    "skin", "nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear", "r_ear",
    "mouth", "u_lip", "l_lip", "hair", "hat", "ear_r", "neck_l", "neck", "cloth",
)

#: Group names accepted in ``skin_parts`` / ``occlusion_parts`` besides the part names themselves.
PART_GROUPS = {
    "eyes": ("l_eye", "r_eye"),
    "brows": ("l_brow", "r_brow"),
    "lips": ("u_lip", "l_lip"),
    "ears": ("l_ear", "r_ear"),
    "eyeglasses": ("eye_g",),
    "earrings": ("ear_r",),
    "necklace": ("neck_l",),
}

#: Default skin definition (FaceOcc): skin, brows, eyes, nose, mouth and lips.
DEFAULT_SKIN_PARTS = ("skin", "l_brow", "r_brow", "l_eye", "r_eye", "nose", "mouth", "u_lip", "l_lip")

#: Default parts that make a face "already occluded" when they cover it: eyeglasses and hat.
DEFAULT_OCCLUSION_PARTS = ("eye_g", "hat")


def resolve_parts(names: Iterable[str], what: str = "skin_parts") -> tuple[str, ...]:
    """Expand group names (``eyes``, ``brows``, ``lips``...) and check every name is a CelebAMask-HQ part.

    Raises:
        ValueError: naming the unknown entry and listing what is allowed.
    """
    if isinstance(names, str):
        names = [names]
    out: list[str] = []
    for name in names:
        parts = PART_GROUPS.get(name, (name,))
        for p in parts:
            if p not in CELEBAMASK_PARTS:
                raise ValueError(
                    f"{what}: unknown part {name!r}; allowed: {', '.join(CELEBAMASK_PARTS)} "
                    f"or groups {', '.join(PART_GROUPS)}"
                )
            if p not in out:
                out.append(p)
    if not out:
        raise ValueError(f"{what} is empty; name at least one part")
    return tuple(out)


def paint_parts(masks: Mapping[str, np.ndarray], shape: tuple[int, int] | None = None) -> np.ndarray:
    """Paint part masks into one label map, in :data:`CELEBAMASK_PARTS` order (later parts cover earlier).

    Args:
        masks: part name -> ``(H, W)`` mask (bool, or numbers where > 0.5 (or > 127 for uint8) is inside).
            Absent parts are simply missing from the mapping.
        shape: ``(H, W)`` of the label map when ``masks`` is empty.

    Returns:
        ``(H, W)`` uint8 labels: 0 = background, ``k`` = ``CELEBAMASK_PARTS[k - 1]``.
    """
    unknown = set(masks) - set(CELEBAMASK_PARTS)
    if unknown:
        raise ValueError(f"unknown CelebAMask-HQ parts {sorted(unknown)}; allowed: {', '.join(CELEBAMASK_PARTS)}")
    if shape is None:
        if not masks:
            raise ValueError("paint_parts needs a shape when no part mask is given")
        shape = next(iter(masks.values())).shape[:2]
    labels = np.zeros(shape, dtype=np.uint8)
    for k, name in enumerate(CELEBAMASK_PARTS, start=1):
        if name not in masks:
            continue
        m = np.asarray(masks[name])
        if m.shape[:2] != tuple(shape):
            raise ValueError(f"part {name!r} has shape {m.shape[:2]}, expected {tuple(shape)}")
        inside = m > (127 if m.dtype == np.uint8 else 0.5) if m.dtype != np.bool_ else m
        labels[inside] = k
    return labels


def labels_to_mask(labels: np.ndarray, parts: Iterable[str]) -> np.ndarray:
    """Boolean ``(H, W)`` mask of the pixels whose painted label is one of ``parts`` (names or groups)."""
    lut = np.zeros(256, dtype=np.uint8)
    lut[[CELEBAMASK_PARTS.index(p) + 1 for p in resolve_parts(parts, "parts")]] = 1
    # A lookup table is an order of magnitude faster than np.isin on a label map.
    return cv2.LUT(np.ascontiguousarray(labels, dtype=np.uint8), lut).view(bool)


def occluded_fraction(
    labels: np.ndarray,
    skin_parts: Iterable[str] = DEFAULT_SKIN_PARTS,
    occlusion_parts: Iterable[str] = DEFAULT_OCCLUSION_PARTS,
    face: np.ndarray | None = None,
) -> float:
    """Fraction of the face area covered by ``occlusion_parts`` (eyeglasses, hat by default).

    The face area is the convex hull of the visible skin-part pixels, joined with ``face`` when given (pass
    the raw ``skin`` part mask: CelebAMask-HQ annotates skin under glasses and hat brims, so a lens or a brim
    covering the face counts, a hat high above the head does not). Returns 0.0 when there is no face.
    """
    occ = labels_to_mask(labels, occlusion_parts)
    if not occ.any():  # most faces: no glasses or hat, no need for the hull
        return 0.0
    area = labels_to_mask(labels, skin_parts)
    if face is not None:
        area = area | (np.asarray(face) > 0)
    if not area.any():
        return 0.0
    # The hull of a region is the hull of its outer contours: far fewer points than every pixel.
    contours, _ = cv2.findContours(area.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(np.concatenate(contours))
    region = np.zeros(labels.shape, np.uint8)
    cv2.fillConvexPoly(region, hull, 1)
    region = region.astype(bool)
    occ &= region
    return float(occ.sum()) / float(region.sum())


# ---------------------------------------------------------------------------------------------------------
# Landmark-derived skin matte (folder and demo sources)

# Mesh points at the centre of patches that are skin on most faces: forehead centre and sides, between the
# brows, upper, mid and lower cheeks on both sides, nose ridge and tip, chin. Any of them can be covered
# (sunglasses, fringe, beard, a face mask), so the colour model is fitted on the largest group of probes
# that agree with each other, not on all of them.
_SKIN_PROBES = (151, 108, 337, 9, 50, 280, 101, 330, 205, 425, 118, 347, 187, 411, 4, 5, 195, 197, 200, 175)


def _fill(shape: tuple[int, int], polys: list[np.ndarray], supersample: int = 4) -> np.ndarray:
    """Anti-aliased polygon fill, float32 in [0, 1] (sub-pixel vertices via OpenCV's shift)."""
    img = np.zeros(shape, np.uint8)
    # Continuous coordinates -> OpenCV pixel-centre coordinates, fixed point with 2 fractional bits.
    pp = [np.round((np.asarray(p, np.float64) - 0.5) * supersample).astype(np.int32) for p in polys]
    cv2.fillPoly(img, pp, 255, lineType=cv2.LINE_AA, shift=int(np.log2(supersample)))
    return img.astype(np.float32) / 255.0


def face_regions(landmarks: np.ndarray, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Soft ``(H, W)`` float32 masks from the landmarks: ``oval`` (face-mesh oval), ``eyes``, ``brows``,
    ``lips`` (outer lip contour, mouth included)."""
    pts = np.asarray(landmarks, np.float64)
    return {
        "oval": _fill(shape, [pts[list(FACE_OVAL)]]),
        "eyes": _fill(shape, [pts[list(EYE_LEFT_RING)], pts[list(EYE_RIGHT_RING)]]),
        "brows": _fill(shape, [pts[list(BROW_LEFT)], pts[list(BROW_RIGHT)]]),
        "lips": _fill(shape, [pts[list(LIPS_OUTER)]]),
    }


def _interocular(pts: np.ndarray) -> float:
    return float(np.hypot(*(pts[473] - pts[468]))) if len(pts) > 473 else float(np.hypot(*(pts[263] - pts[33])))


def skin_like(lab: np.ndarray) -> np.ndarray:
    """Whether CIELAB colours (``(..., 3)``, L 0..100) have a hue human skin can have, whatever its tone: a
    chroma of at least 4 and a hue angle from -15 to 100 degrees (red to yellow). Returns bool ``(...)``.
    A blue face mask, a white or grey object, a green plant do not; lips and lipstick do."""
    a, b = lab[..., 1], lab[..., 2]
    hue = np.degrees(np.arctan2(b, a))
    return (np.hypot(a, b) >= 4.0) & (hue >= -15.0) & (hue <= 100.0)


def _skin_distance(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance of every pixel to this face's skin colour in CIELAB, in spreads, and how much darker than
    the skin it is, in the same spreads (0 where lighter): two ``(H, W)`` float32 maps >= 0; and the hue
    class, ``(H, W)`` uint8: 0 = a hue skin can have (:func:`skin_like`), 1 = nearly no hue (grey, white,
    black), 2 = foreign, a clear hue skin never has; all 0 in a photo without colour.

    The model is robust (medians) over patches around :data:`_SKIN_PROBES` that agree with each other. The
    chroma spread adds the spread between the probes (red cheeks against a pale forehead) to the spread
    inside them, with a floor wide enough for blotchy, wrinkled or sun-tanned skin. Lightness counts
    weakly: 22 L units per spread on the dark side (shadows, folds and wrinkles are skin, black hair is
    far darker still) and 45 on the bright side (highlights).
    """
    pts = np.asarray(landmarks, np.float64)
    h, w = image.shape[:2]
    lab = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2LAB).astype(np.float32)
    # 8-bit Lab: L scaled to 0..255, a and b offset by 128.
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    r = max(2, int(round(0.08 * _interocular(pts))))
    samples = []
    for i in _SKIN_PROBES:
        if i >= len(pts):
            continue
        x, y = int(pts[i, 0]), int(pts[i, 1])
        patch = lab[max(0, y - r): min(h, y + r + 1), max(0, x - r): min(w, x + r + 1)].reshape(-1, 3)
        if len(patch):
            samples.append(patch)
    if not samples:
        return np.zeros((h, w), np.float32), np.zeros((h, w), np.float32), np.zeros((h, w), np.uint8)
    # Keep the probes that agree with the most other probes (the face's dominant skin colour).
    meds = np.array([np.median(p, axis=0) for p in samples])
    dist = np.sqrt((((meds[:, None] - meds[None]) / np.array([40.0, 9.0, 9.0])) ** 2).sum(axis=2))
    # Among probes of a skin hue when there are enough (a face mask or a hand can cover most probes).
    plausible = skin_like(meds)
    coloured = bool(plausible.sum() >= 3)
    if not coloured:
        plausible[:] = True  # a greyscale photo, or a strong colour cast: no hue to go by
    votes = np.where(plausible, (dist < 1.0).sum(axis=1), -1)
    keep = (dist[int(np.argmax(votes))] < 1.6) & plausible
    s = np.concatenate([p for p, k in zip(samples, keep) if k])
    med = np.median(s, axis=0)
    within = np.median(np.abs(s - med), axis=0) * 1.4826
    between = np.median(np.abs(meds[keep] - med), axis=0) * 1.4826
    chroma = np.clip(np.hypot(within[1:], between[1:]) * 2.0, 6.0, 12.0)
    dl = lab[..., 0] - med[0]
    dl = np.where(dl < 0, dl / 22.0, dl / 45.0)
    d2 = dl ** 2 + ((lab[..., 1] - med[1]) / chroma[0]) ** 2 + ((lab[..., 2] - med[2]) / chroma[1]) ** 2
    hue = np.zeros((h, w), np.uint8)
    if coloured:
        hue[~skin_like(lab)] = 1
        hue[(hue == 1) & (np.hypot(lab[..., 1], lab[..., 2]) >= 6.0)] = 2
    return np.sqrt(d2).astype(np.float32), np.maximum(-dl, 0.0).astype(np.float32), hue


def skin_color_probability(
    image: np.ndarray, landmarks: np.ndarray, tolerance: float = 2.8
) -> np.ndarray:
    """Per-pixel agreement with this face's own skin colour, ``(H, W)`` float32 in [0, 1].

    A robust CIELAB colour model (see :func:`_skin_distance`), fitted on patches
    over the forehead, cheeks, nose and chin. ``tolerance`` is the distance (in spreads) where the
    probability is 0.5.
    """
    d = _skin_distance(image, landmarks)[0]
    return (1.0 / (1.0 + np.exp((d - tolerance) * 3.0))).astype(np.float32)


def _fill_small_holes(hard: np.ndarray, oval: np.ndarray, max_area: float) -> np.ndarray:
    """Fill non-skin blobs that lie wholly inside the oval and are smaller than ``max_area`` pixels.

    ``hard`` is ``(H, W)`` uint8 0/1 skin, ``oval`` ``(H, W)`` uint8 0/1. Blobs that reach the oval border
    (a fringe, a beard, hair at the temples) are never filled.
    """
    holes = ((hard == 0) & (oval > 0)).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(holes, connectivity=8)
    if n <= 1:
        return hard
    ring = cv2.dilate((oval == 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    touching = np.unique(lab[ring & (holes > 0)])
    small = stats[:, cv2.CC_STAT_AREA] < max_area
    small[0] = False
    small[touching] = False
    out = hard.copy()
    out[small[lab]] = 1
    return out


def _non_skin(
    dist: np.ndarray, dark: np.ndarray, oval: np.ndarray, glasses_zone: np.ndarray, tolerance: float,
    border_factor: float = 0.6, border_mean: float = 0.85, frame_factor: float = 0.8,
    bridge: np.ndarray | None = None, features: np.ndarray | None = None, smooth: np.ndarray | None = None,
    full_shape: tuple[int, int] | None = None, forehead: np.ndarray | None = None,
    under_eyes: tuple[np.ndarray, ...] | None = None, foreign: np.ndarray | None = None,
) -> np.ndarray:
    """Which pixels inside the oval are an occluder, ``(H, W)`` bool, from the colour distance ``dist`` and
    the darkness ``dark`` of :func:`_skin_distance` (``oval`` and ``glasses_zone`` are 0/1 masks).

    Only clearly foreign regions count. Off-colour pixels (``dist > tolerance``) are first opened with a
    disc of about 2 % of the image side, which erases thin lines (wrinkles, folds, creases) and keeps
    thick blobs. A blob is an occluder when it reaches the oval border (fringe, beard, hair at the temples),
    or is large, dark and very far from the skin colour (a moustache, a sunglasses lens). Thin off-colour
    structures count only in the glasses zone around the eyes and only when far from the skin colour
    (frames) and, when ``bridge`` (a 0/1 mask over the nose bridge) is given, only when they cross the
    bridge as every pair of glasses does: dark eye make-up and shadowed eye sockets stop at the eye. Pixels
    of ``features`` (a 0/1 mask of the brows, eyes and lips with their margins) never count: thick or joined
    brows are neither hair nor a frame. Every
    other off-colour pixel is a hole in the skin (wrinkles, shadows, spots, red patches)
    and stays skin. Accepted occluders then grow, geodesically and by about 1.5 % of the side, into the
    off-colour pixels around them, so that a fringe's ragged edge goes with it. Sizes are relative to
    ``full_shape`` (the whole image's ``(H, W)`` when these maps are a crop of it; default their own).
    A border blob lying mostly in ``forehead`` (bool, above the brows) needs only a moderate mean distance
    (0.7 ``tolerance``): a brown fringe over pale skin is not far off in colour, and shadows rarely sit there.
    Frames count only when they also reach every box of ``under_eyes`` (bool masks under each eye, see
    :func:`_under_eyes`), as lower rims do. A blob mostly of ``foreign`` pixels (bool, a hue skin never
    has: a blue face mask, a green sleeve) is an occluder when it reaches the border or is large.
    """
    h, w = dist.shape if full_shape is None else full_shape
    side = max(h, w)
    inside = oval > 0
    k = max(3, int(round(0.02 * side)) | 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    ring = cv2.dilate((~inside).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    img_area = float(h * w)
    occ = np.zeros(dist.shape, bool)
    # Blobs reaching the oval border: judged at a lower threshold (hair next to the skin often has nearly
    # its colour; a fringe or a beard is thick, shadows at the border are not far off-colour).
    free = inside if features is None else inside & ~(features > 0)
    for thr, border in ((border_factor * tolerance, True), (tolerance, False)):
        off = ((dist > thr) & free).astype(np.uint8)
        blobs = cv2.morphologyEx(off, cv2.MORPH_OPEN, disc)
        n, lab, stats, _ = cv2.connectedComponentsWithStats(blobs, connectivity=8)
        if n <= 1:
            continue
        area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
        mean_d = np.bincount(lab.ravel(), weights=dist.ravel(), minlength=n) / np.maximum(area, 1)
        alien = np.zeros(n, bool) if foreign is None else np.bincount(lab[foreign & (blobs > 0)], minlength=n) > 0.5 * area
        if border:
            touch = np.bincount(lab[ring & (blobs > 0)], minlength=n)
            far = mean_d > border_mean * tolerance
            if forehead is not None:
                high = np.bincount(lab[forehead & (blobs > 0)], minlength=n) > 0.5 * area
                far |= high & (mean_d > 0.7 * tolerance)
            keep = (touch >= 2) & (area > 3e-4 * img_area) & (far | alien)
        else:
            # Dark and far: hair, a moustache, a sunglasses lens. A red or bright patch is skin.
            mean_dark = np.bincount(lab.ravel(), weights=dark.ravel(), minlength=n) / np.maximum(area, 1)
            keep = (area > 2e-3 * img_area) & (((mean_d > 1.3 * tolerance) & (mean_dark > 1.5)) | alien)
        keep[0] = False
        occ |= keep[lab]
    # Glasses frames: thin but long off-colour structures around the eyes.
    frame = ((dist > frame_factor * tolerance) & (glasses_zone > 0.5) & inside).astype(np.uint8)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(frame, connectivity=8)
    if n > 1:
        span = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
        area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
        big = (area > 5e-4 * img_area) & (span > 0.08 * side)
        if bridge is not None:
            big &= np.bincount(lab[(bridge > 0) & (frame > 0)], minlength=n) > 0
        big[0] = False
        rims = big[lab]
        # Glasses have lower rims under both eyes; joined brows or a fringe reaching the bridge do not.
        if under_eyes is None or all((rims & box).any() for box in under_eyes):
            occ |= rims
    # Grow into the off-colour neighbourhood (geodesic dilation).
    weak = (dist > 0.6 * tolerance) & inside
    if smooth is not None:  # smooth, nearly skin-coloured pixels beside hair are shadowed skin
        weak &= ~smooth | (dist > tolerance)
    k3 = np.ones((3, 3), np.uint8)
    grown = occ.astype(np.uint8)
    for _ in range(max(1, int(round(0.015 * side)))):
        grown = cv2.dilate(grown, k3) & (weak | occ).astype(np.uint8)
    return grown > 0


def _features(pts: np.ndarray, shape: tuple[int, int], eye_margin: float, margin: float,
              lips: bool = True) -> np.ndarray:
    """The facial features with margins, ``(H, W)`` float32 in [0, 1]: the eyes grown by ``eye_margin`` px
    (lids, lashes, make-up), the brows and (with ``lips``) the lips with the mouth by ``margin`` px. A polygon
    grown by ``r`` is the polygon plus its outline drawn ``2 r`` thick (round joins): far cheaper than a
    dilation."""
    img = np.zeros(shape, np.uint8)
    others = (BROW_LEFT, BROW_RIGHT, LIPS_OUTER) if lips else (BROW_LEFT, BROW_RIGHT)
    for rings, r in (((EYE_LEFT_RING, EYE_RIGHT_RING), eye_margin), (others, margin)):
        polys = [np.round((pts[list(ring)] - 0.5) * 4).astype(np.int32) for ring in rings]
        cv2.fillPoly(img, polys, 255, lineType=cv2.LINE_AA, shift=2)
        if r >= 0.5:
            cv2.polylines(img, polys, True, 255, thickness=int(round(2 * r)), lineType=cv2.LINE_AA, shift=2)
    return img.astype(np.float32) / 255.0


def _under_eyes(pts: np.ndarray, xx: np.ndarray, yy: np.ndarray, iod: float) -> tuple[np.ndarray, np.ndarray]:
    """Where the lower rims of glasses run: under each eye, from the lower lid down 0.45 inter-ocular
    distances and 0.5 wide; two ``(H, W)`` bool masks over the pixel grid ``xx``, ``yy``."""
    up, right, _ = _face_axes(pts)
    height, across = xx * up[0] + yy * up[1], xx * right[0] + yy * right[1]
    boxes = []
    for ring in (EYE_LEFT_RING, EYE_RIGHT_RING):
        c = pts[list(ring)]
        depth = float((c @ up).min()) - height
        boxes.append((depth > 0) & (depth < 0.45 * iod) & (np.abs(across - float(c.mean(0) @ right)) < 0.25 * iod))
    return boxes[0], boxes[1]


def _face_axes(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Unit vectors ``up`` (chin to forehead) and ``right`` of a face, and its inter-ocular distance (px)."""
    up = pts[10] - pts[152]
    up = up / max(float(np.hypot(*up)), 1e-6)
    iod = float(np.hypot(*(pts[list(EYE_RIGHT_RING)].mean(0) - pts[list(EYE_LEFT_RING)].mean(0))))
    return up, np.array([-up[1], up[0]]), max(iod, 1.0)


def extended_oval(landmarks: np.ndarray, shape: tuple[int, int], up_gain: float = 1.4,
                  side_gain: float = 0.1) -> np.ndarray:
    """Where the skin can be, ``(H, W)`` float32 in [0, 1]: the polygon of :func:`_extended_polygon` filled."""
    return _fill(shape, [_extended_polygon(np.asarray(landmarks, np.float64), up_gain, side_gain)])


def _extended_polygon(pts: np.ndarray, up_gain: float = 1.4, side_gain: float = 0.1) -> np.ndarray:
    """Where the skin can be: the face-mesh oval grown to hold the whole forehead.

    The mesh stops part-way up the forehead. Each oval point above the eyes moves up (away from the
    chin) by ``up_gain`` times the mesh's own brow-to-top height, scaled by how high the point is (the top
    moves most, the temples little); points at the sides above the mouth move outwards by ``side_gain``
    of their distance from the face's centre line (cheeks seen from an angle, temples). Below the mouth
    the oval is kept (the neck is not skin). Colour and the person mask decide what of this is skin.
    ``pts``: ``(478, 2)`` float64 pixels. Returns the ``(36, 2)`` polygon in pixels.
    """
    up, right, _ = _face_axes(pts)
    eyes = (pts[list(EYE_LEFT_RING)].mean(0) + pts[list(EYE_RIGHT_RING)].mean(0)) / 2
    mouth = pts[list(LIPS_OUTER)].mean(0)
    brow = (pts[list(BROW_LEFT)].mean(0) + pts[list(BROW_RIGHT)].mean(0)) / 2
    top_h = max(float((pts[10] - eyes) @ up), 1.0)
    lift = up_gain * max(float((pts[10] - brow) @ up), 1.0)
    oval = pts[list(FACE_OVAL)]
    h = (oval - eyes) @ up
    across = (oval - eyes) @ right
    grown = oval + np.outer(lift * np.clip(h / top_h, 0.0, None) ** 2, up)
    # Outwards only above the mouth, fading to nothing at it.
    fade = np.clip(((oval - mouth) @ up) / max(float((eyes - mouth) @ up), 1.0), 0.0, 1.0)
    grown += np.outer(side_gain * across * fade, right)
    return grown


def _local_texture(gray: np.ndarray, k: int) -> np.ndarray:
    """Local standard deviation of ``gray`` (``(H, W)`` float32) over ``k`` x ``k`` boxes: hair strands are
    rough, skin is smooth at this scale."""
    m = cv2.blur(gray, (k, k))
    return np.sqrt(np.maximum(cv2.blur(gray * gray, (k, k)) - m * m, 0.0))


def _beard(occ: np.ndarray, dark: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """The facial hair among occluder pixels ``occ`` (``(H, W)`` bool), which is skin: dark pixels below the
    middle of the nose, in connected parts that cross the face's centre line around the mouth and chin (a
    beard or moustache does; scalp hair falling along one cheek does not). ``dark`` as from
    :func:`_skin_distance`. Returns ``(H, W)`` bool."""
    up, right, iod = _face_axes(pts)
    ys, xs = np.nonzero(occ & (dark > 0.25))
    nose = (pts[195] + pts[1]) / 2
    below = ((xs - nose[0]) * up[0] + (ys - nose[1]) * up[1]) < 0.1 * iod
    ys, xs = ys[below], xs[below]
    hair = np.zeros(occ.shape, np.uint8)
    hair[ys, xs] = 1
    centre = np.abs((xs - pts[152][0]) * right[0] + (ys - pts[152][1]) * right[1]) < 0.35 * iod
    n, lab = cv2.connectedComponents(hair, connectivity=8)
    if n <= 1:
        return hair > 0
    crosses = np.zeros(n, bool)
    crosses[np.unique(lab[ys[centre], xs[centre]])] = True
    crosses[0] = False
    return crosses[lab]


def landmark_skin(
    image: np.ndarray,
    landmarks: np.ndarray,
    person: np.ndarray | None = None,
    *,
    refine: bool = True,
    tolerance: float = 2.8,
) -> np.ndarray:
    """Skin matte of a face derived from its landmarks, ``(H, W)`` float32 in [0, 1].

    Meets the skin definition of ``docs/faces.md``. With ``refine`` (the default):

    - **where**: the face-mesh oval, and beyond it up to the hairline: the oval grown over the forehead and
      the temples (:func:`extended_oval`), where skin-coloured, smooth pixels joined to the face count;
    - **occluders out**: inside the oval, off-colour blobs that reach its border or are large and dark
      (a fringe, hair at the temples, sunglasses) and long dark structures crossing the nose bridge
      (glasses frames) are cut out (:func:`_non_skin`); wrinkles, folds, shadows and red cheeks stay;
    - **beards stay**: dark off-colour pixels below the middle of the nose are facial hair, hence skin;
    - **features always**: eyes with a margin that holds lashes and make-up, brows, lips with the mouth
      and teeth;
    - **person**: everything times the person mask where given (selfie segmentation: the outer boundary);
    - **soft edges** from a guided filter on the photo: soft where the photo is soft (hairline, strands),
      hard at sharp edges.

    Without ``refine`` the matte is the anti-aliased oval times the person mask.

    Args:
        image: ``(H, W, 3)`` uint8 RGB, normally the aligned face.
        landmarks: ``(478, 2)`` pixel coordinates in ``image``.
        person: optional ``(H, W)`` float person probability in [0, 1].
        refine: use colour, texture and the extended oval (else the matte is the oval x person).
        tolerance: colour distance, in spreads of the skin model, beyond which a pixel is off-colour.
    """
    h, w = image.shape[:2]
    p = None if person is None else np.clip((np.asarray(person, np.float32) - 0.15) / 0.5, 0.0, 1.0)
    if not refine:
        matte = cv2.GaussianBlur(face_regions(landmarks, (h, w))["oval"], (0, 0), max(0.8, 0.003 * max(h, w)))
        return np.clip(matte if p is None else matte * p, 0.0, 1.0).astype(np.float32)
    # Work on the face's box only (the extended oval and a margin for the filters): 2-3x less to compute.
    pts = np.asarray(landmarks, np.float64)
    box = cv2.boundingRect(np.round(np.vstack([_extended_polygon(pts), pts])).astype(np.int32))
    pad = int(round(0.04 * max(h, w))) + 2
    x0, y0 = max(0, box[0] - pad), max(0, box[1] - pad)
    x1, y1 = min(w, box[0] + box[2] + pad), min(h, box[1] + box[3] + pad)
    out = np.zeros((h, w), np.float32)
    if x1 > x0 and y1 > y0:
        crop = _refined_skin(np.ascontiguousarray(image[y0:y1, x0:x1, :3]), pts - (x0, y0),
                             None if p is None else p[y0:y1, x0:x1], (h, w), tolerance)
        out[y0:y1, x0:x1] = crop
    return out


def _refined_skin(image: np.ndarray, pts: np.ndarray, p: np.ndarray | None, full_shape: tuple[int, int],
                  tolerance: float) -> np.ndarray:
    """:func:`landmark_skin` with ``refine`` on a crop: ``image`` ``(h, w, 3)``, ``pts`` ``(478, 2)`` in the
    crop, ``p`` the person weight ``(h, w)`` in [0, 1] or ``None``; sizes relative to ``full_shape``."""
    h, w = image.shape[:2]
    side = max(full_shape)
    reg = face_regions(pts, (h, w))
    soft = max(0.8, 0.003 * side)
    up, _, iod = _face_axes(pts)
    ell = lambda r: cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))  # noqa: E731
    # Features: eyes with lids, lashes and make-up; brows; lips with the mouth and teeth.
    dist, dark, hue = _skin_distance(image, pts)
    foreign = hue == 2
    # Lips of a hue skin never has are under something (a face mask, a hand in a blue glove): not kept.
    lip_px = reg["lips"] > 0.5
    lips = not (lip_px.any() and foreign[lip_px].mean() > 0.5)
    kept = _features(pts, (h, w), 0.12 * iod, 0.03 * iod, lips)
    # Where glasses frames and lenses sit: an ellipse around each eye.
    glasses = np.zeros((h, w), np.uint8)
    for ring_ids in (EYE_LEFT_RING, EYE_RIGHT_RING):
        c = pts[list(ring_ids)]
        centre = c.mean(axis=0)
        half = (c.max(axis=0) - c.min(axis=0)) / 2 + 0.3 * iod
        cv2.ellipse(glasses, (int(round(centre[0])), int(round(centre[1]))),
                    (int(round(half[0])), int(round(half[1]))), 0.0, 0.0, 360.0, 1, -1)
    # Glasses cross the nose between the eyes: a thin strip from the brows' middle down the bridge.
    bridge = np.zeros((h, w), np.uint8)
    top, low = pts[168], pts[197]
    cv2.line(bridge, (int(round(top[0])), int(round(top[1]))), (int(round(low[0])), int(round(low[1]))), 1,
             max(1, int(round(0.12 * iod))))
    glasses = np.maximum(glasses, bridge)
    inside = (reg["oval"] > 0.5).astype(np.uint8)
    gray = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    tex = _local_texture(gray, max(3, int(round(0.012 * side)) | 1))
    near = (inside > 0) & (dist < tolerance) & (kept < 0.5)
    smooth = tex < max(3.0, 2.0 * float(np.median(tex[near])) if near.any() else 3.0)
    person_hard = np.ones((h, w), bool) if p is None else p > 0.5
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    brow = (pts[list(BROW_LEFT)].mean(0) + pts[list(BROW_RIGHT)].mean(0)) / 2
    forehead = (xx - brow[0]) * up[0] + (yy - brow[1]) * up[1] > 0.1 * iod
    under_eyes = _under_eyes(pts, xx, yy, iod)
    occ = _non_skin(dist, dark, inside, glasses, tolerance, bridge=bridge, features=kept > 0.5, smooth=smooth,
                    full_shape=full_shape, forehead=forehead, under_eyes=under_eyes, foreign=foreign)
    if foreign.any():
        # An object of a foreign hue (a face mask) goes with the grey of its shaded folds next to it.
        n, lab = cv2.connectedComponents(((hue > 0) & (inside > 0) & (kept < 0.5)).astype(np.uint8), connectivity=8)
        hit = np.zeros(n, bool)
        hit[np.unique(lab[occ & foreign])] = True
        hit[0] = False
        occ |= hit[lab]
    occ &= ~_beard(occ, dark, pts)
    if (occ & (bridge > 0)).any() and all((occ & box).any() for box in under_eyes):
        # Glasses on the nose: the lenses are not skin either (the eyes seen through them are).
        occ |= (glasses > 0) & (bridge == 0) & (reg["eyes"] < 0.5) & (inside > 0)
        kept = _features(pts, (h, w), 0.0, 0.03 * iod, lips)
    hard = (inside > 0) & ~occ
    # Beyond the oval: smooth skin-coloured pixels of the extended oval, joined to the skin inside.
    ext = (_fill((h, w), [_extended_polygon(pts)]) > 0.5) & person_hard
    band = ext & ~(inside > 0) & (dist < tolerance) & smooth
    k = max(3, int(round(0.008 * side)) | 1)
    band = cv2.morphologyEx(band.astype(np.uint8), cv2.MORPH_OPEN, ell(k // 2)) > 0
    n, lab = cv2.connectedComponents((band | hard).astype(np.uint8), connectivity=8)
    joined = np.zeros(n, bool)
    joined[np.unique(lab[hard])] = True
    joined[0] = False
    hard = (hard | (band & joined[lab])).astype(np.uint8)
    hard = np.maximum(hard, (kept > 0.5).astype(np.uint8))
    # Smooth the occluder boundary: open slivers of skin between occluder blobs, then fill what is left as
    # small holes.
    hard = cv2.morphologyEx(hard, cv2.MORPH_OPEN, ell(k // 2))
    hard = _fill_small_holes(hard, ext.astype(np.uint8), 0.0025 * full_shape[0] * full_shape[1])
    # Annotated outlines run along the outer edge of the skin (mixed pixels count): grow by 0.6 % of the side.
    room = ((ext | (inside > 0)) & person_hard).astype(np.uint8)
    hard = np.maximum(hard, cv2.dilate(hard, ell(max(1, int(round(0.006 * side))))) & room)
    prob = _edge_aware(gray, hard.astype(np.float32), max(2, int(round(0.006 * side))))
    matte = np.maximum(prob, cv2.GaussianBlur(kept, (0, 0), soft))
    if p is not None:
        matte = matte * p
    return np.clip(matte, 0.0, 1.0).astype(np.float32)


def _edge_aware(gray: np.ndarray, hard: np.ndarray, radius: int) -> np.ndarray:
    """Soften a 0/1 matte along the photo (guided filter, the photo's grey levels as guide): edges stay where
    the photo has them, soft where the photo is soft. ``gray`` and ``hard`` ``(H, W)`` float32 (grey in
    0..255); returns float32 in [0, 1]."""
    out = cv2.ximgproc.guidedFilter(gray, hard, radius, (0.02 * 255) ** 2)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
