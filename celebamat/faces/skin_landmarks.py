"""The landmark skin estimator (``estimate:landmarks-v7``): the skin matte of a photo without annotation,
meeting the skin definition of ``docs/faces.md``, from its face-mesh landmarks, colour, texture and person
mask. See :func:`landmark_skin`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from celebamat.faces.face_zones import (
    extended_polygon,
    face_axes,
    face_regions,
    feature_mask,
    fill_polygons,
    nose_hull,
    under_eyes,
)
from celebamat.faces.skin_colour import lab_skin_distance, local_texture
from celebamat.faces.skin_hair import HAIR_SIDE, hair_side, scalp_colour, to_lab
from celebamat.landmarks import BROW_LEFT, BROW_RIGHT, EYE_LEFT_RING, EYE_RIGHT_RING


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


@dataclass(frozen=True)
class _Zones:
    """The masks :func:`_non_skin` judges off-colour pixels in, each ``(H, W)`` (``oval``, ``glasses``,
    ``bridge``: 0/1; ``features``, ``smooth``, ``forehead``, ``foreign`` and the ``under_eyes`` boxes: bool),
    and ``full_shape``, the whole image's ``(H, W)`` when these maps are a crop of it."""

    oval: np.ndarray
    glasses: np.ndarray
    bridge: np.ndarray | None = None
    features: np.ndarray | None = None
    smooth: np.ndarray | None = None
    forehead: np.ndarray | None = None
    under_eyes: tuple[np.ndarray, ...] | None = None
    foreign: np.ndarray | None = None
    full_shape: tuple[int, int] | None = None


@dataclass(frozen=True)
class _Thresholds:
    """Colour-distance thresholds of :func:`_non_skin`: ``tolerance``, and the factors of it for blobs at the
    oval border (``border_factor``; their mean distance above ``border_mean``) and for glasses frames."""

    tolerance: float
    border_factor: float = 0.6
    border_mean: float = 0.85
    frame_factor: float = 0.8


def _non_skin(dist: np.ndarray, dark: np.ndarray, zones: _Zones, th: _Thresholds) -> np.ndarray:
    """Which pixels inside the oval are an occluder, ``(H, W)`` bool, from the colour distance ``dist`` and
    the darkness ``dark`` of :func:`skin_distance`, judged in the masks of ``zones`` (:class:`_Zones`; ``oval``
    and ``glasses`` are 0/1 masks) with the thresholds of ``th`` (:class:`_Thresholds`).

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
    (0.7 ``th.tolerance``): a brown fringe over pale skin is not far off in colour, and shadows rarely sit there.
    Frames count only when they also reach every box of ``under_eyes`` (bool masks under each eye, see
    :func:`under_eyes`), as lower rims do. A blob mostly of ``foreign`` pixels (bool, a hue skin never
    has: a blue face mask, a green sleeve) is an occluder when it is large, or when it reaches the border and
    its mean distance is above 0.7 ``th.tolerance`` (dark skin under a cool light turns violet, near the skin's
    colour).
    """
    h, w = dist.shape if zones.full_shape is None else zones.full_shape
    inside = zones.oval > 0
    occ = _off_colour_blobs(dist, dark, zones, th, inside, (h, w))
    frames = _glasses_frames(dist, zones, th, inside, (h, w))
    if frames is not None:
        occ |= frames
    return _grow_into_off_colour(occ, dist, zones, th, inside, max(h, w))


def _off_colour_blobs(dist: np.ndarray, dark: np.ndarray, zones: _Zones, th: _Thresholds, inside: np.ndarray,
                      full_shape: tuple[int, int]) -> np.ndarray:
    """Thick off-colour blobs that are occluders: at the oval border, or large, dark and far (see
    :func:`_non_skin`)."""
    h, w = full_shape
    side = max(h, w)
    tolerance, foreign, forehead = th.tolerance, zones.foreign, zones.forehead
    k = max(3, int(round(0.02 * side)) | 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    ring = cv2.dilate((~inside).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    img_area = float(h * w)
    occ = np.zeros(dist.shape, bool)
    # Blobs reaching the oval border: judged at a lower threshold (hair next to the skin often has nearly
    # its colour; a fringe or a beard is thick, shadows at the border are not far off-colour).
    free = inside if zones.features is None else inside & ~(zones.features > 0)
    for thr, border in ((th.border_factor * tolerance, True), (tolerance, False)):
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
            far = mean_d > th.border_mean * tolerance
            if forehead is not None:
                high = np.bincount(lab[forehead & (blobs > 0)], minlength=n) > 0.5 * area
                far |= high & (mean_d > 0.7 * tolerance)
            # A foreign hue alone is not enough at the border: dark skin lit by a cool light (sky, a window)
            # turns violet at its edge while staying near the skin colour; a face mask or sleeve is far off.
            keep = (touch >= 2) & (area > 3e-4 * img_area) & (far | (alien & (mean_d > 0.7 * tolerance)))
        else:
            # Dark and far: hair, a moustache, a sunglasses lens. A red or bright patch is skin.
            mean_dark = np.bincount(lab.ravel(), weights=dark.ravel(), minlength=n) / np.maximum(area, 1)
            keep = (area > 2e-3 * img_area) & (((mean_d > 1.3 * tolerance) & (mean_dark > 1.5)) | alien)
        keep[0] = False
        occ |= keep[lab]
    return occ


def _glasses_frames(dist: np.ndarray, zones: _Zones, th: _Thresholds, inside: np.ndarray,
                    full_shape: tuple[int, int]) -> np.ndarray | None:
    """Glasses frames (thin but long off-colour structures around the eyes, across the bridge, with lower
    rims under both eyes), ``(H, W)`` bool, or ``None`` when there are none."""
    h, w = full_shape
    side, img_area = max(h, w), float(h * w)
    bridge, under_eyes = zones.bridge, zones.under_eyes
    frame = ((dist > th.frame_factor * th.tolerance) & (zones.glasses > 0.5) & inside).astype(np.uint8)
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
            return rims
    return None


def _grow_into_off_colour(occ: np.ndarray, dist: np.ndarray, zones: _Zones, th: _Thresholds, inside: np.ndarray,
                          side: int) -> np.ndarray:
    """Grow the occluders ``occ`` geodesically, by about 1.5 % of ``side``, into the off-colour pixels around
    them (a fringe's ragged edge goes with it)."""
    weak = (dist > 0.6 * th.tolerance) & inside
    if zones.smooth is not None:  # smooth, nearly skin-coloured pixels beside hair are shadowed skin
        weak &= ~zones.smooth | (dist > th.tolerance)
    k3 = np.ones((3, 3), np.uint8)
    grown = occ.astype(np.uint8)
    for _ in range(max(1, int(round(0.015 * side)))):
        grown = cv2.dilate(grown, k3) & (weak | occ).astype(np.uint8)
    return grown > 0


def _beard(occ: np.ndarray, dark: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """The facial hair among occluder pixels ``occ`` (``(H, W)`` bool), which is skin: dark pixels below the
    middle of the nose, in connected parts that cross the face's centre line around the mouth and chin (a
    beard or moustache does; scalp hair falling along one cheek does not). ``dark`` as from
    :func:`skin_distance`. Returns ``(H, W)`` bool."""
    up, right, iod = face_axes(pts)
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

    - **where**: the face-mesh oval with the nose's outline (a face turned aside shows its nose past the oval),
      and beyond it up to the hairline: the oval grown over the forehead and
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
    box = cv2.boundingRect(np.round(np.vstack([extended_polygon(pts), pts])).astype(np.int32))
    pad = int(round(0.04 * max(h, w))) + 2
    x0, y0 = max(0, box[0] - pad), max(0, box[1] - pad)
    x1, y1 = min(w, box[0] + box[2] + pad), min(h, box[1] + box[3] + pad)
    out = np.zeros((h, w), np.float32)
    # The hair's colour, from above the hairline on the person (without a person mask, background could pass).
    hair = None if p is None else scalp_colour(image, pts, p)
    if x1 > x0 and y1 > y0:
        crop = _refined_skin(np.ascontiguousarray(image[y0:y1, x0:x1, :3]), pts - (x0, y0),
                             None if p is None else p[y0:y1, x0:x1], (h, w), tolerance, hair)
        out[y0:y1, x0:x1] = crop
    return out


def _refined_skin(image: np.ndarray, pts: np.ndarray, p: np.ndarray | None, full_shape: tuple[int, int],
                  tolerance: float, hair: np.ndarray | None = None) -> np.ndarray:
    """:func:`landmark_skin` with ``refine`` on a crop: ``image`` ``(h, w, 3)``, ``pts`` ``(478, 2)`` in the
    crop, ``p`` the person weight ``(h, w)`` in [0, 1] or ``None``; sizes relative to ``full_shape``."""
    h, w = image.shape[:2]
    side = max(full_shape)
    reg = face_regions(pts, (h, w))
    soft = max(0.8, 0.003 * side)
    up, _, iod = face_axes(pts)
    ell = lambda r: cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))  # noqa: E731
    # Features: eyes with lids, lashes and make-up; brows; lips with the mouth and teeth.
    lab = to_lab(image)
    dist, dark, hue, med = lab_skin_distance(lab, pts, hair)
    foreign = hue == 2
    # Lips of a hue skin never has are under something (a face mask, a hand in a blue glove): not kept.
    lip_px = reg["lips"] > 0.5
    lips = not (lip_px.any() and foreign[lip_px].mean() > 0.5)
    kept = feature_mask(pts, (h, w), 0.12 * iod, 0.03 * iod, lips)
    glasses, bridge = _glasses_zones(pts, (h, w), iod)
    # The oval and the nose: a face turned aside shows its nose past the mesh's oval.
    inside = (np.maximum(reg["oval"], nose_hull(pts, (h, w))) > 0.5).astype(np.uint8)
    gray = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    k_tex = max(3, int(round(0.012 * side)) | 1)
    tex = local_texture(gray, k_tex)
    near = (inside > 0) & (dist < tolerance) & (kept < 0.5)
    smooth = tex < max(3.0, 2.0 * float(np.median(tex[near])) if near.any() else 3.0)
    towards_hair = None if med is None else hair_side(lab, med, hair)
    if towards_hair is not None:
        # Rough pixels of the hair's own colour are hair, however near the skin's a shadow would be; smooth ones
        # may be shaded skin and are left to the skin model, and so are the deep, wrinkled sockets around the eyes.
        # Roughness is judged over twice the texture window: inside one strand a small window sees none.
        rough = cv2.dilate((~smooth).astype(np.uint8), np.ones((k_tex, k_tex), np.uint8)) > 0
        hairy = (towards_hair > HAIR_SIDE) & rough & (kept < 0.5) & (glasses == 0)
        dist = np.where(hairy, np.maximum(dist, tolerance), dist)
    person_hard = np.ones((h, w), bool) if p is None else p > 0.5
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    brow = (pts[list(BROW_LEFT)].mean(0) + pts[list(BROW_RIGHT)].mean(0)) / 2
    forehead = (xx - brow[0]) * up[0] + (yy - brow[1]) * up[1] > 0.1 * iod
    rims = under_eyes(pts, xx, yy, iod)
    zones = _Zones(inside, glasses, bridge=bridge, features=kept > 0.5, smooth=smooth, forehead=forehead,
                   under_eyes=rims, foreign=foreign, full_shape=full_shape)
    occ = _non_skin(dist, dark, zones, _Thresholds(tolerance))
    if foreign.any():
        # An object of a foreign hue (a face mask) goes with the grey of its shaded folds next to it.
        n, lab = cv2.connectedComponents(((hue > 0) & (inside > 0) & (kept < 0.5)).astype(np.uint8), connectivity=8)
        hit = np.zeros(n, bool)
        hit[np.unique(lab[occ & foreign])] = True
        hit[0] = False
        occ |= hit[lab]
    occ &= ~_beard(occ, dark, pts)
    if (occ & (bridge > 0)).any() and all((occ & box).any() for box in rims):
        # Glasses on the nose: the lenses are not skin either (the eyes seen through them are).
        occ |= (glasses > 0) & (bridge == 0) & (reg["eyes"] < 0.5) & (inside > 0)
        kept = feature_mask(pts, (h, w), 0.0, 0.03 * iod, lips)
    ext = (fill_polygons((h, w), [extended_polygon(pts)]) > 0.5) & person_hard
    k = max(3, int(round(0.008 * side)) | 1)
    hard = _beyond_oval((inside > 0) & ~occ, ext & ~(inside > 0) & (dist < tolerance) & smooth, ell(k // 2),
                        max(2, int(round(_REACH * iod))))
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


#: How far (inter-ocular distances, along paths through skin-coloured pixels) the skin may reach beyond the
#: face-mesh oval: the forehead up to a typical hairline, the temples.
_REACH = 0.35


def _glasses_zones(pts: np.ndarray, shape: tuple[int, int], iod: float) -> tuple[np.ndarray, np.ndarray]:
    """Where glasses sit, two ``(H, W)`` uint8 0/1 masks: an ellipse around each eye (frames and lenses) joined
    by the ``bridge``, a strip from between the brows down the nose, 0.12 inter-ocular distances wide."""
    glasses = np.zeros(shape, np.uint8)
    for ring_ids in (EYE_LEFT_RING, EYE_RIGHT_RING):
        c = pts[list(ring_ids)]
        centre = c.mean(axis=0)
        half = (c.max(axis=0) - c.min(axis=0)) / 2 + 0.3 * iod
        cv2.ellipse(glasses, (int(round(centre[0])), int(round(centre[1]))),
                    (int(round(half[0])), int(round(half[1]))), 0.0, 0.0, 360.0, 1, -1)
    bridge = np.zeros(shape, np.uint8)
    top, low = pts[168], pts[197]
    cv2.line(bridge, (int(round(top[0])), int(round(top[1]))), (int(round(low[0])), int(round(low[1]))), 1,
             max(1, int(round(0.12 * iod))))
    return np.maximum(glasses, bridge), bridge


def _beyond_oval(skin: np.ndarray, band: np.ndarray, kernel: np.ndarray, reach: int) -> np.ndarray:
    """``skin`` (bool, inside the oval) grown into ``band`` (bool: candidate skin beyond the oval, up to the
    hairline), after opening ``band`` with ``kernel`` (strands and thin leaks go), by at most ``reach`` px along
    paths inside it. The forehead above the mesh and the temples lie within that reach; light brown hair that
    passes the colour test lies beyond it, and no longer joins the skin through a thin bridge at a temple.
    Returns ``(H, W)`` uint8 0/1."""
    band = cv2.morphologyEx(band.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    allowed = band | skin.astype(np.uint8)
    grown = skin.astype(np.uint8)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    for _ in range(reach):
        grown = cv2.dilate(grown, cross) & allowed
    return grown


def _edge_aware(gray: np.ndarray, hard: np.ndarray, radius: int) -> np.ndarray:
    """Soften a 0/1 matte along the photo (guided filter, the photo's grey levels as guide): edges stay where
    the photo has them, soft where the photo is soft. ``gray`` and ``hard`` ``(H, W)`` float32 (grey in
    0..255); returns float32 in [0, 1]."""
    out = cv2.ximgproc.guidedFilter(gray, hard, radius, (0.02 * 255) ** 2)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
