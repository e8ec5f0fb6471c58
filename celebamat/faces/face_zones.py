"""Face zones from the 478 face-mesh landmarks: filled regions, the face's axes, the features with margins,
the oval grown to the hairline, the boxes under the eyes where glasses have rims.

All coordinates are continuous pixels ``(x, y)``; masks are ``(H, W)`` float32 in [0, 1] or bool.
"""

from __future__ import annotations

import cv2
import numpy as np

from celebamat.landmarks import BROW_LEFT, BROW_RIGHT, EYE_LEFT_RING, EYE_RIGHT_RING, FACE_OVAL, LIPS_OUTER


def fill_polygons(shape: tuple[int, int], polys: list[np.ndarray], supersample: int = 4) -> np.ndarray:
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
        "oval": fill_polygons(shape, [pts[list(FACE_OVAL)]]),
        "eyes": fill_polygons(shape, [pts[list(EYE_LEFT_RING)], pts[list(EYE_RIGHT_RING)]]),
        "brows": fill_polygons(shape, [pts[list(BROW_LEFT)], pts[list(BROW_RIGHT)]]),
        "lips": fill_polygons(shape, [pts[list(LIPS_OUTER)]]),
    }


#: Face-mesh points on the nose (bridge, tip, columella, wings). The mesh's oval follows the cheeks and misses the
#: nose of a face turned aside, which stands out past it.
NOSE_POINTS = (168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 3, 248, 51, 281, 45, 275, 44, 274, 48, 278, 49, 279, 64, 294,
               98, 327, 102, 331, 115, 344, 129, 358, 219, 439, 218, 438, 237, 457, 220, 440)


def nose_hull(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The nose's outline (convex hull of :data:`NOSE_POINTS`), ``(H, W)`` float32 in [0, 1], anti-aliased."""
    pts = np.asarray(landmarks, np.float64)[list(NOSE_POINTS)]
    hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    return fill_polygons(shape, [hull])


def interocular(pts: np.ndarray) -> float:
    return float(np.hypot(*(pts[473] - pts[468]))) if len(pts) > 473 else float(np.hypot(*(pts[263] - pts[33])))


def feature_mask(pts: np.ndarray, shape: tuple[int, int], eye_margin: float, margin: float,
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


def under_eyes(pts: np.ndarray, xx: np.ndarray, yy: np.ndarray, iod: float) -> tuple[np.ndarray, np.ndarray]:
    """Where the lower rims of glasses run: under each eye, from the lower lid down 0.45 inter-ocular
    distances and 0.5 wide; two ``(H, W)`` bool masks over the pixel grid ``xx``, ``yy``."""
    up, right, _ = face_axes(pts)
    height, across = xx * up[0] + yy * up[1], xx * right[0] + yy * right[1]
    boxes = []
    for ring in (EYE_LEFT_RING, EYE_RIGHT_RING):
        c = pts[list(ring)]
        depth = float((c @ up).min()) - height
        boxes.append((depth > 0) & (depth < 0.45 * iod) & (np.abs(across - float(c.mean(0) @ right)) < 0.25 * iod))
    return boxes[0], boxes[1]


def face_axes(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Unit vectors ``up`` (chin to forehead) and ``right`` of a face, and its inter-ocular distance (px)."""
    up = pts[10] - pts[152]
    up = up / max(float(np.hypot(*up)), 1e-6)
    iod = float(np.hypot(*(pts[list(EYE_RIGHT_RING)].mean(0) - pts[list(EYE_LEFT_RING)].mean(0))))
    return up, np.array([-up[1], up[0]]), max(iod, 1.0)


def extended_oval(landmarks: np.ndarray, shape: tuple[int, int], up_gain: float = 1.4,
                  side_gain: float = 0.1) -> np.ndarray:
    """Where the skin can be, ``(H, W)`` float32 in [0, 1]: the polygon of :func:`extended_polygon` filled."""
    return fill_polygons(shape, [extended_polygon(np.asarray(landmarks, np.float64), up_gain, side_gain)])


def extended_polygon(pts: np.ndarray, up_gain: float = 1.4, side_gain: float = 0.1) -> np.ndarray:
    """Where the skin can be: the face-mesh oval grown to hold the whole forehead.

    The mesh stops part-way up the forehead. Each oval point above the eyes moves up (away from the
    chin) by ``up_gain`` times the mesh's own brow-to-top height, scaled by how high the point is (the top
    moves most, the temples little); points at the sides above the mouth move outwards by ``side_gain``
    of their distance from the face's centre line (cheeks seen from an angle, temples). Below the mouth
    the oval is kept (the neck is not skin). Colour and the person mask decide what of this is skin.
    ``pts``: ``(478, 2)`` float64 pixels. Returns the ``(36, 2)`` polygon in pixels.
    """
    up, right, _ = face_axes(pts)
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
