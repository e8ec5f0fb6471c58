"""Aligning a face in an arbitrary photo: detect, crop, mesh, align, warp, mesh again.

The legacy face mesh only finds faces that fill much of the frame, so a photo goes through the
full-range detector first; the mesh then runs on a generous crop around the chosen face.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from celebamat.errors import FaceSkipped
from celebamat.faces.align import align_image, alignment_transform, transform_points, transform_scale
from celebamat.faces.detect import (  # detect_faces: importable from here, as before
    BOX_CROP_EXPANDS,
    FaceBox,
    detect_blazeface,
    detect_faces,  # noqa: F401
    get_yunet,
)
from celebamat.faces.estimators import SkinEstimator, skin_estimator
from celebamat.landmarks import Landmarker, get_landmarker

#: A second face whose box area is at least this fraction of the largest one makes the photo ambiguous.
SEVERAL_FACES_AREA_RATIO = 0.35
#: Largest allowed upsampling from the photo to the aligned face.
MAX_UPSAMPLING = 3.0
#: Side of the square the mesh runs on (crops are resized to it; the mesh works at 192 px internally).
_MESH_INPUT = 512


@dataclass
class AlignedFace:
    """An aligned face: ``image`` (S,S,3) uint8, ``landmarks`` (478,2) float32 in it, ``transform`` (2,3)
    from photo px to aligned px, ``skin`` (S,S) float32 when computed, what made it (``skin_source``, see
    :class:`celebamat.faces.record.FaceRecord`), and notes for the provenance."""

    image: np.ndarray
    landmarks: np.ndarray
    transform: np.ndarray
    skin: np.ndarray | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    skin_source: str = ""


def _pick_nearest(faces: list[np.ndarray], point: np.ndarray) -> np.ndarray | None:
    if not faces:
        return None
    return min(faces, key=lambda f: float(np.hypot(*(f.mean(axis=0) - point))))


def _mesh_in_square(
    image: np.ndarray, center: np.ndarray, side: float, lm: Landmarker
) -> np.ndarray | None:
    """Mesh the face nearest ``center`` in a square crop of ``side`` px (padded where it leaves the photo);
    landmarks are returned in photo coordinates."""
    s = _MESH_INPUT / side
    m = np.array([[s, 0.0, _MESH_INPUT / 2 - s * center[0]], [0.0, s, _MESH_INPUT / 2 - s * center[1]]])
    crop = align_image(image, m, _MESH_INPUT, border="constant")
    faces = lm.mesh(crop)
    best = _pick_nearest(faces, np.array([_MESH_INPUT / 2, _MESH_INPUT / 2]))
    if best is None:
        return None
    return transform_points(best, np.array([[1 / s, 0, center[0] - _MESH_INPUT / 2 / s], [0, 1 / s, center[1] - _MESH_INPUT / 2 / s]]))


def _check_one_face(boxes: list[FaceBox], key: str) -> None:
    if len(boxes) >= 2:
        a0, a1 = boxes[0].area, boxes[1].area
        if a1 >= SEVERAL_FACES_AREA_RATIO * a0:
            raise FaceSkipped(key, "several faces", f"{len(boxes)} faces found, the two largest of similar size "
                              f"({a1 / a0:.0%} of the area); crop the photo to one face")


def locate_face(image: np.ndarray, key: str, lm: Landmarker | None = None) -> np.ndarray:
    """Landmarks ``(478, 2)`` float64 (photo px) of the one main face in a photo.

    A cascade: BlazeFace's box (or the whole frame when it finds none), the face mesh on crops around it; then,
    when that finds no face, YuNet's box (it finds faces that hands or masks hide from BlazeFace) and the mesh
    around it. BlazeFace stays first so that photos it finds give the same landmarks as before YuNet came.

    Raises:
        FaceSkipped: ``"no face"``, or ``"several faces"`` when another face is of similar size (a much
            smaller background face is ignored).
    """
    lm = lm or get_landmarker()
    h, w = image.shape[:2]
    boxes = detect_blazeface(image, lm)
    yunet = None if boxes else get_yunet().detect(image)
    _check_one_face(boxes or yunet, key)
    if boxes:
        tries = [(boxes[0].center, e * boxes[0].side) for e in BOX_CROP_EXPANDS]
    else:
        # The detector can miss a face that fills the whole frame; the mesh then finds it directly.
        tries = [((w / 2, h / 2), float(max(h, w)))]
    for center, side in tries:
        pts = _mesh_in_square(image, np.array(center), side, lm)
        if pts is not None:
            return pts
    yunet = get_yunet().detect(image) if yunet is None else yunet
    if yunet:
        for e in BOX_CROP_EXPANDS:
            pts = _mesh_in_square(image, np.array(yunet[0].center), e * yunet[0].side, lm)
            if pts is not None:
                return pts
    raise FaceSkipped(key, "no face", "no face found by the face detectors (BlazeFace, YuNet) and face mesh")


def align_photo(
    image: np.ndarray,
    size: int,
    key: str,
    *,
    landmarks: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    zoom: float = 1.0,
    roll_deg: float = 0.0,
    lm: Landmarker | None = None,
    max_upsampling: float = MAX_UPSAMPLING,
    estimator: SkinEstimator | None = None,
) -> AlignedFace:
    """Align the main face of a photo and compute its skin matte.

    Args:
        image: ``(H, W, 3)`` uint8 RGB photo.
        size: side of the aligned face.
        key: the face's key, for error messages.
        landmarks: photo landmarks when already known (skips detection).
        mask: optional ``(H, W)`` float skin matte of the photo (a sidecar mask); warped with the face.
            Without it the matte is estimated on the aligned face by ``estimator``.
        zoom, roll_deg: variations passed to :func:`alignment_transform`.
        estimator: default :func:`celebamat.faces.estimators.skin_estimator` (landmarks, person mask, colour).

    Raises:
        FaceSkipped: ``"no face"``, ``"several faces"``, ``"face too small"``.
    """
    lm = lm or get_landmarker()
    pts = locate_face(image, key, lm) if landmarks is None else np.asarray(landmarks, np.float64)
    m = alignment_transform(pts, size, zoom=zoom, roll_deg=roll_deg)
    up = transform_scale(m)
    if up > max_upsampling:
        raise FaceSkipped(key, "face too small", f"the face would be upsampled {up:.1f}x to {size} px "
                          f"(at most {max_upsampling:g}x); use a larger photo or a smaller --size")
    aligned = align_image(image, m, size, interpolation=cv2.INTER_CUBIC if up > 1 else cv2.INTER_LINEAR)
    # Landmarks again on the aligned face: sharper than mapped ones, since the face now fills the frame.
    faces = lm.mesh(aligned)
    mapped = transform_points(pts, m)
    final = _pick_nearest(faces, mapped.mean(axis=0))
    notes: dict[str, Any] = {"upsampling": round(up, 4)}
    if final is None or float(np.abs(final.mean(axis=0) - mapped.mean(axis=0)).max()) > 0.1 * size:
        final, notes["landmarks"] = mapped, "mapped from the photo (no face mesh on the aligned face)"
    if mask is not None:
        if mask.shape[:2] != image.shape[:2]:
            raise ValueError(f"{key}: mask size {mask.shape[1]}x{mask.shape[0]} differs from the photo "
                             f"{image.shape[1]}x{image.shape[0]}")
        skin = align_image(mask.astype(np.float32), m, size, border="constant")
        skin_source = "annotation:sidecar mask"
    else:
        est = estimator if estimator is not None else skin_estimator()
        skin = est(aligned, final)
        skin_source = est.name
    notes["skin"] = skin_source
    return AlignedFace(
        image=np.ascontiguousarray(aligned, dtype=np.uint8),
        landmarks=np.asarray(final, np.float32),
        transform=m,
        skin=np.clip(skin, 0, 1).astype(np.float32),
        notes=notes,
        skin_source=skin_source,
    )
