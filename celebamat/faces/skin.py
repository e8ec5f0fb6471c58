"""Skin mattes as pure functions: the CelebAMask-HQ part logic (the landmark estimator for photos without
annotation is :mod:`celebamat.faces.skin_landmarks`).

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

from celebamat.faces.parts import CELEBAMASK_PARTS  # the dataset's painting order (later covers earlier)

# ---------------------------------------------------------------------------------------------------------
# CelebAMask-HQ parts

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



# The landmark estimator and the face zones live in their own modules; these names stay importable from here.
_MOVED = {
    "landmark_skin": "celebamat.faces.skin_landmarks",
    "face_regions": "celebamat.faces.face_zones",
    "extended_oval": "celebamat.faces.face_zones",
    "skin_color_probability": "celebamat.faces.skin_colour",
    "skin_like": "celebamat.faces.skin_colour",
}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
