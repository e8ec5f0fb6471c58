"""Face boxes in any photo, including faces that hands, masks or hair cover.

Two detectors, both offline:

- **YuNet** (OpenCV model zoo, MIT, run by ``cv2.FaceDetectorYN``; the model file ships in
  ``celebamat/faces/models``): a small CNN trained on faces in the wild. It finds faces behind a hand over the
  mouth or the eyes, and gives five keypoints.
- **BlazeFace full range** (mediapipe, through :class:`celebamat.landmarks.Landmarker`): finds faces YuNet
  scores low (a face lying sideways), and small faces in large photos through a tiled search.

:func:`detect_faces` merges both (``docs/faces.md``, "Finding faces", gives the measurements behind the choice).
:func:`landmarks_from_keypoints` places a 478-point mesh from YuNet's five keypoints, for a face whose mesh
cannot be fitted because hands hide it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from celebamat.landmarks import Landmarker, get_landmarker

#: The bundled YuNet model (see ``celebamat/faces/models/README.md`` for licence and provenance).
YUNET_FILE = Path(__file__).parent / "models" / "face_detection_yunet_2026may.onnx"
YUNET_SHA256 = "ebafce4e3c118d6554634be5c27ab333b4c047a9a8c3faf1d7cf93101c22f0f0"
#: YuNet sees the photo resized so that its long side is this many pixels (up or down): small tiles of faces
#: are found better enlarged, and large photos give fewer false faces (textures, bottles) when reduced.
YUNET_SIDE = 640
#: YuNet detections below this score are dropped. Measured on ../shared: 0.6 keeps every face of the
#: hand-over-face tiles and gives no false face on 94 clean photos (docs/faces.md).
YUNET_MIN_SCORE = 0.6
#: Two boxes whose intersection covers at least this fraction of the smaller one are the same face.
SAME_FACE_OVERLAP = 0.5
#: Crop sides (box side times these, tried in order) meshed around a detector's box: the box covers brows to
#: mouth only, and the short-range mesh detector needs the whole head with some context. Used by the face
#: sources' scan (:func:`celebamat.faces.photo.locate_face`) and the finder alike.
BOX_CROP_EXPANDS = (2.2, 1.6, 3.2)
#: Smallest window the tiled BlazeFace search goes down to (px of the photo): a face must be about a fifth
#: of the window for the full-range detector, which sees it at 192 px.
_MIN_WINDOW = 512
#: Face-mesh indices matching YuNet's five keypoints: the person's right and left iris centres, the nose tip,
#: the right and left mouth corners.
KEYPOINT_MESH_INDEX = (468, 473, 4, 61, 291)


class FaceBox(NamedTuple):
    """A detected face.

    Attributes:
        x0, y0, x1, y1: box in photo pixels.
        score: detector confidence in [0, 1].
        keypoints: ``(5, 2)`` float32 photo pixels (the person's right eye, left eye, nose tip, right and left
            mouth corners), or ``None`` when the detector gives none (BlazeFace boxes here).
        detector: ``"yunet"`` or ``"blazeface"``.
    """

    x0: float
    y0: float
    x1: float
    y1: float
    score: float
    keypoints: np.ndarray | None = None
    detector: str = "blazeface"

    @property
    def side(self) -> float:
        return max(self.x1 - self.x0, self.y1 - self.y0)

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    @property
    def area(self) -> float:
        return max(0.0, self.x1 - self.x0) * max(0.0, self.y1 - self.y0)


def box_overlap(a: FaceBox | tuple, b: FaceBox | tuple) -> float:
    """Intersection of two ``(x0, y0, x1, y1, ...)`` boxes over the smaller one's area, in [0, 1]."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / small if small > 0 else 0.0


class YuNet:
    """OpenCV's YuNet detector on the bundled model, one per process (``cv2.FaceDetectorYN`` is not picklable).

    Args:
        model: path of the ONNX file (default: the bundled one, checked against :data:`YUNET_SHA256`).
        min_score: detections below this score are dropped.
        side: the photo's long side is resized to this before detection.
    """

    def __init__(self, model: str | os.PathLike | None = None, min_score: float = YUNET_MIN_SCORE,
                 side: int = YUNET_SIDE) -> None:
        path = Path(model) if model is not None else YUNET_FILE
        if not path.is_file():
            raise FileNotFoundError(f"YuNet model not found: {path} (reinstall celebamat: it ships in the package)")
        if model is None and hashlib.sha256(path.read_bytes()).hexdigest() != YUNET_SHA256:
            raise ValueError(f"{path} is damaged (sha256 differs from the bundled model's); reinstall celebamat")
        if not 0.0 < min_score < 1.0:
            raise ValueError(f"min_score must be in (0, 1), got {min_score}")
        if side < 64:
            raise ValueError(f"side must be >= 64 px, got {side}")
        self.path, self.min_score, self.side = path, float(min_score), int(side)
        self._net = cv2.FaceDetectorYN.create(str(path), "", (side, side), self.min_score, 0.3, 50)
        self._lock = threading.Lock()

    def detect(self, image: np.ndarray) -> list[FaceBox]:
        """Faces in an ``(H, W, 3)`` uint8 RGB photo, largest first."""
        h, w = image.shape[:2]
        s = self.side / max(h, w)
        size = (max(1, round(w * s)), max(1, round(h * s)))
        small = cv2.resize(np.ascontiguousarray(image[..., :3]), size,
                           interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        with self._lock:
            self._net.setInputSize(size)
            _, faces = self._net.detect(cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
        boxes = []
        for f in [] if faces is None else faces:
            x, y, bw, bh = (float(v) / s for v in f[:4])
            kps = (f[4:14].reshape(5, 2) / s).astype(np.float32)
            boxes.append(FaceBox(x, y, x + bw, y + bh, float(f[14]), kps, "yunet"))
        boxes.sort(key=lambda b: -b.area)
        return boxes


_LOCAL: dict = {"pid": None, "yunet": None}


def get_yunet() -> YuNet:
    """The process-local :class:`YuNet` (rebuilt after a fork)."""
    if _LOCAL["pid"] != os.getpid() or _LOCAL["yunet"] is None:
        _LOCAL["yunet"] = YuNet()
        _LOCAL["pid"] = os.getpid()
    return _LOCAL["yunet"]


def _windows(h: int, w: int, side: int) -> list[tuple[int, int]]:
    """Top-left corners of square windows of ``side`` px covering an ``h x w`` photo with half overlap."""
    def starts(n: int) -> list[int]:
        if n <= side:
            return [0]
        k = int(np.ceil((n - side) / (side / 2)))
        return sorted({int(round(i * (n - side) / k)) for i in range(k + 1)})

    return [(y, x) for y in starts(h) for x in starts(w)]


def detect_blazeface(image: np.ndarray, lm: Landmarker | None = None) -> list[FaceBox]:
    """BlazeFace full-range boxes, largest first.

    The full-range detector sees the photo at 192 px, so a small face in a large photo vanishes. When it
    finds nothing in a photo larger than 640 px, it searches overlapping square windows, halving their side
    from half the photo down to 512 px, and stops at the first scale that finds a face (a holiday photo of
    4,000 px with a 250 px face is found at the 512 px windows).
    """
    lm = lm or get_landmarker()
    boxes = [FaceBox(*b) for b in lm.detect(image)]
    h, w = image.shape[:2]
    side = max(h, w) // 2
    while not boxes and max(h, w) > 640 and side >= _MIN_WINDOW:
        found = []
        for y, x in _windows(h, w, side):
            for b in lm.detect(image[y: y + side, x: x + side]):
                found.append(FaceBox(b[0] + x, b[1] + y, b[2] + x, b[3] + y, b[4]))
        # A face cut by a window's edge is found again, whole, in an overlapping window: one face.
        for b in sorted(found, key=lambda b: -b.area):
            if all(box_overlap(b, k) < SAME_FACE_OVERLAP for k in boxes):
                boxes.append(b)
        side //= 2
    boxes.sort(key=lambda b: -b.area)
    return boxes


def merge_boxes(*groups: list[FaceBox]) -> list[FaceBox]:
    """Union of several detectors' boxes, one box per face, largest first.

    Boxes overlapping by :data:`SAME_FACE_OVERLAP` or more are one face: the earlier group's box is kept (pass
    the detector with keypoints first) with the higher of the two scores.
    """
    merged: list[FaceBox] = []
    for group in groups:
        for b in sorted(group, key=lambda b: -b.score):
            same = [i for i, k in enumerate(merged) if box_overlap(b, k) >= SAME_FACE_OVERLAP]
            if not same:
                merged.append(b)
            else:
                i = same[0]
                merged[i] = merged[i]._replace(score=max(merged[i].score, b.score))
    merged.sort(key=lambda b: -b.area)
    return merged


def detect_faces(image: np.ndarray, lm: Landmarker | None = None, yunet: bool = True) -> list[FaceBox]:
    """Every face box of a photo from YuNet and BlazeFace together, largest first.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        lm: the landmarker whose BlazeFace runs (default: the process-local one).
        yunet: also run YuNet (``False``: BlazeFace alone, the detector of releases before the YuNet one).

    Returns:
        :class:`FaceBox` es. A box may still be a false face (a hand's outline); callers confirm a face by fitting
        the face mesh on a crop around it (:class:`celebamat.faces.finder.FaceFinder`).
    """
    groups = [get_yunet().detect(image)] if yunet else []
    groups.append(detect_blazeface(image, lm))
    return merge_boxes(*groups)


_TEMPLATE: dict = {"points": None}


def mesh_template() -> np.ndarray:
    """A frontal 478-point face mesh (``(478, 2)`` float64, pixels of the embedded demo face, scikit-image's
    public-domain astronaut), computed once per process with the face mesh."""
    if _TEMPLATE["points"] is None:
        from skimage import data

        faces = get_landmarker().mesh(data.astronaut())
        if not faces:  # pragma: no cover - the embedded face is always found (tests/celebamat/faces)
            raise RuntimeError("the face mesh found no face in the embedded demo photo")
        _TEMPLATE["points"] = faces[0].astype(np.float64)
    return _TEMPLATE["points"]


def landmarks_from_keypoints(keypoints: np.ndarray) -> np.ndarray:
    """A 478-point mesh placed by a similarity transform from five keypoints.

    For a face that a detector finds but the face mesh cannot fit (hands over most of it): the template mesh
    (:func:`mesh_template`) is moved, turned and scaled so that its eyes, nose tip and mouth corners fall on the
    keypoints in the least-squares sense. Good enough to frame the face for matting; not for skin estimation.

    Args:
        keypoints: ``(5, 2)`` pixels, YuNet's order (the person's right eye, left eye, nose tip, right and left
            mouth corners).

    Returns:
        ``(478, 2)`` float32 pixels.
    """
    kps = np.asarray(keypoints, np.float64)
    if kps.shape != (5, 2) or not np.isfinite(kps).all():
        raise ValueError(f"keypoints must be a finite (5, 2) array, got shape {kps.shape}")
    tpl = mesh_template()
    src = tpl[list(KEYPOINT_MESH_INDEX)]
    # Least-squares similarity (Umeyama without reflection) from the template's five points to the keypoints.
    ms, md = src.mean(axis=0), kps.mean(axis=0)
    a, b = src - ms, kps - md
    cov = b.T @ a / len(a)
    u, sv, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt)) or 1.0
    rot = u @ np.diag([1.0, d]) @ vt
    scale = (sv * [1.0, d]).sum() / (a ** 2).sum(axis=1).mean()
    out = (tpl - ms) @ (scale * rot).T + md
    return out.astype(np.float32)
