"""Finding every face of a photo, or tracking faces through a video, as 478 face-mesh landmarks each.

The public face-crop API that prediction uses (``facemat.predict``) beside the face sources: the same detectors
(:mod:`celebamat.faces.detect`) and the same landmarker, so a predicted crop is framed like the training data.

A face is kept when the face mesh fits on a crop around a detector's box. When the mesh cannot fit (hands over
most of the face), a YuNet box with its five keypoints still gives a face: the mesh template placed on the
keypoints (:func:`celebamat.faces.detect.landmarks_from_keypoints`). A photo in which nothing is found is searched
again inside a black border (a face that fills a tight crop; :data:`BORDER_RETRIES`). In a video, a tracked face
whose mesh and detectors both fail is held at its last landmarks for a few frames (a hand passing over the face).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import cv2
import numpy as np

from celebamat.faces.align import align_image
from celebamat.faces.detect import BOX_CROP_EXPANDS, FaceBox, box_overlap, detect_faces, landmarks_from_keypoints

#: Crop side (landmark bounding-box side times this) meshed around a tracked face.
TRACK_CROP_EXPAND = 1.7
#: A tracked face keeps its previous mesh crop until the crop implied by its new landmarks moves by more than
#: this fraction of the side (or resizes by more). Re-cropping on every small change feeds landmark noise back
#: into the next crop: on a still frame of a half-occluded face the landmarks then wander by several pixels.
TRACK_CROP_HYSTERESIS = 0.06
#: Crops are resized to at most this side before meshing (the mesh model itself works at 192 px).
MESH_CROP_SIZE = 320
#: Faces whose landmark boxes overlap more than this (intersection over union) are the same face.
SAME_FACE_IOU = 0.4
#: A YuNet box without a mesh gives a face from its keypoints only when it covers less than this fraction of
#: any meshed face's box (a second, looser box around a face already found is not another face).
KEYPOINT_FACE_MAX_OVERLAP = 0.3

#: Borders (fractions of the photo's long side, tried in order) around a photo in which no face was found: a
#: face that fills a tight crop and runs off it (a masked face cut at the brows and the chin) is larger than
#: the detectors and the mesh's own detector look for, and is found once framed smaller (docs/faces.md).
BORDER_RETRIES = (0.25, 0.5)
#: A face found only inside a border is kept when the face mesh fitted it and its landmarks span at least this
#: fraction of the photo's short side: what the retry looks for, a face that fills the frame. Smaller finds
#: there were false faces (the back of a head, a light bulb) or keypoint faces off the face.
BORDER_MIN_SIDE = 0.5

#: How each face was found, as reported in ``predictions.json`` and the benchmark tables.
FOUND_BY = ("mesh", "keypoints", "held")


@dataclass(frozen=True)
class FoundFace:
    """A face found in a frame: ``landmarks`` ``(478, 2)`` float32 px, ``found_by`` (one of :data:`FOUND_BY`:
    the face mesh, the mesh template placed on a detector's keypoints, or held from an earlier video frame) and
    ``detector`` (``"yunet"``, ``"blazeface"``, ``"mesh"`` for the mesh's own detector on the whole frame, or
    ``"track"``); ``border`` is the border (a fraction of the photo's long side, :data:`BORDER_RETRIES`) the
    photo was framed in when it was found only so, else 0."""

    landmarks: np.ndarray
    found_by: str = "mesh"
    detector: str = "mesh"
    border: float = 0.0

    def summary(self) -> dict[str, Any]:
        x0, y0, x1, y1 = _box_of(self.landmarks)
        out = {"box": [round(v, 1) for v in (x0, y0, x1, y1)], "found_by": self.found_by, "detector": self.detector}
        if self.border:
            out["border"] = self.border
        return out


def _box_of(landmarks: np.ndarray) -> tuple[float, float, float, float]:
    x0, y0 = landmarks.min(axis=0)
    x1, y1 = landmarks.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _square_crop(image: np.ndarray, cx: float, cy: float, side: float, out: int) -> tuple[np.ndarray, np.ndarray]:
    """A square crop of ``side`` pixels centred on ``(cx, cy)`` resized to ``out`` (at most), zero-padded outside
    the image. Returns the crop and the ``(2, 3)`` transform from crop pixels back to image pixels."""
    side = max(side, 8.0)
    out = int(min(out, math.ceil(side)))
    s = side / out  # image px per crop px
    x0, y0 = cx - side / 2, cy - side / 2
    to_crop = np.array([[1 / s, 0, -x0 / s], [0, 1 / s, -y0 / s]])
    crop = align_image(image, to_crop, out, border="constant")
    return crop, np.array([[s, 0, x0], [0, s, y0]])


class FaceFinder:
    """Finds faces (478 landmarks each) in photos, or tracks them through a video.

    Args:
        landmarker: a :class:`celebamat.landmarks.Landmarker` (default: the process-local one).
        max_faces: most faces returned per frame (largest first).
        min_size: faces whose detector box is smaller than this many pixels are ignored (too small to matte).
        redetect_every: in tracking mode, run the detectors every this many frames, to pick up faces that
            entered the frame (and whenever a tracked face is lost).
        hold_frames: in tracking mode, a face lost by the mesh and the detectors keeps its last landmarks for
            up to this many frames (0: never held).
        keypoint_faces: give a face from YuNet's keypoints where the mesh cannot fit (see the module).

    After :meth:`find` or :meth:`track`, :attr:`last` holds the :class:`FoundFace` of each face returned.
    """

    def __init__(self, landmarker: Any = None, max_faces: int = 4, min_size: float = 24.0, redetect_every: int = 30,
                 hold_frames: int = 8, keypoint_faces: bool = True):
        if landmarker is None:
            from celebamat.landmarks import get_landmarker

            landmarker = get_landmarker()
        if max_faces < 1:
            raise ValueError(f"max_faces must be >= 1, got {max_faces}")
        if redetect_every < 1:
            raise ValueError(f"redetect_every must be >= 1, got {redetect_every}")
        if hold_frames < 0:
            raise ValueError(f"hold_frames must be >= 0, got {hold_frames}")
        self.landmarker = landmarker
        self.max_faces = int(max_faces)
        self.min_size = float(min_size)
        self.redetect_every = int(redetect_every)
        self.hold_frames = int(hold_frames)
        self.keypoint_faces = bool(keypoint_faces)
        self.last: list[FoundFace] = []
        self._tracked: list[FoundFace] = []
        self._crops: list[tuple[float, float, float]] = []  # (cx, cy, side) of each tracked face's mesh crop
        self._lost: list[int] = []  # frames each tracked face has been held
        self._since_detect = 0
        #: Counts of detector runs and tracked (detector-free) frames, for benchmarks.
        self.stats = {"detect": 0, "track": 0}

    def reset(self) -> None:
        """Forget tracked faces (call between videos)."""
        self._tracked, self._crops, self._lost = [], [], []
        self._since_detect = 0

    @staticmethod
    def _track_crop(landmarks: np.ndarray, previous: tuple[float, float, float] | None) -> tuple[float, float, float]:
        x0, y0, x1, y1 = _box_of(landmarks)
        crop = ((x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * TRACK_CROP_EXPAND)
        if previous is not None:
            moved = math.hypot(crop[0] - previous[0], crop[1] - previous[1])
            limit = TRACK_CROP_HYSTERESIS * previous[2]
            if moved < limit and abs(crop[2] - previous[2]) < limit:
                return previous
        return crop

    def _mesh_around(self, image: np.ndarray, cx: float, cy: float, side: float) -> np.ndarray | None:
        """Mesh the face nearest the centre of a square crop; landmarks in image pixels, or ``None``."""
        crop, back = _square_crop(image, cx, cy, side, MESH_CROP_SIZE)
        faces = self.landmarker.mesh(crop)
        if not faces:
            return None
        c = crop.shape[0] / 2
        best = min(faces, key=lambda p: float(np.hypot(*(p.mean(axis=0) - c))))
        return (best.astype(np.float64) @ back[:, :2].T + back[:, 2]).astype(np.float32)

    @staticmethod
    def _add(found: list[FoundFace], face: FoundFace | None) -> bool:
        if face is None:
            return False
        box = _box_of(face.landmarks)
        if all(_iou(box, _box_of(f.landmarks)) < SAME_FACE_IOU for f in found):
            found.append(face)
            return True
        return False

    def _mesh_box(self, image: np.ndarray, box: FaceBox) -> np.ndarray | None:
        cx, cy = box.center
        for expand in BOX_CROP_EXPANDS:
            pts = self._mesh_around(image, cx, cy, box.side * expand)
            if pts is not None:
                return pts
        return None

    def find_faces(self, image: np.ndarray, border_retries: Sequence[float] = BORDER_RETRIES) -> list[FoundFace]:
        """Every face in a photo, with how it was found (see :meth:`find`).

        When none is found, the photo is searched again inside a black border of each of ``border_retries``
        (fractions of its long side) in turn, until a face that fills the frame is (:data:`BORDER_MIN_SIDE`);
        its landmarks are given in the photo's pixels.
        """
        self.stats["detect"] += 1
        found = self._find_in(image)
        h, w = image.shape[:2]
        for share in border_retries:
            if found:
                break
            pad = int(round(share * max(h, w)))
            framed = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
            found = [FoundFace(f.landmarks - np.float32(pad), f.found_by, f.detector, float(share))
                     for f in self._find_in(framed)
                     if f.found_by == "mesh" and np.ptp(f.landmarks, axis=0).max() >= BORDER_MIN_SIDE * min(h, w)]
        self.last = found
        return list(found)

    def _find_in(self, image: np.ndarray) -> list[FoundFace]:
        """The faces of ``image`` as it is: detectors, the mesh around their boxes, keypoint faces, the mesh's own
        detector when nothing else finds one; largest first, at most ``max_faces``."""
        found: list[FoundFace] = []
        unmeshed: list[FaceBox] = []
        for box in detect_faces(image, self.landmarker):
            if box.side < self.min_size:
                continue
            pts = self._mesh_box(image, box)
            if pts is None:
                unmeshed.append(box)
            else:
                self._add(found, FoundFace(pts, "mesh", box.detector))
            if len(found) >= self.max_faces:
                break
        if self.keypoint_faces:
            for box in unmeshed:
                if box.keypoints is None or len(found) >= self.max_faces:
                    continue
                if all(box_overlap(box, _box_of(f.landmarks)) < KEYPOINT_FACE_MAX_OVERLAP for f in found):
                    self._add(found, FoundFace(landmarks_from_keypoints(box.keypoints), "keypoints", box.detector))
        if not found:
            # The detectors miss some very large, cut-off faces that the mesh's own detector finds.
            for pts in self.landmarker.mesh(image)[: self.max_faces]:
                self._add(found, FoundFace(pts, "mesh", "mesh"))
        found.sort(key=lambda f: -float(np.ptp(f.landmarks[:, 0]) * np.ptp(f.landmarks[:, 1])))
        return found[: self.max_faces]

    def find(self, image: np.ndarray) -> list[np.ndarray]:
        """Every face in a photo: YuNet and BlazeFace boxes, then the face mesh on a crop around each box.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.

        Returns:
            Up to ``max_faces`` ``(478, 2)`` float32 landmark arrays in image pixels, largest face first
            (:attr:`last` says how each was found).
        """
        return [f.landmarks for f in self.find_faces(image)]

    def _hold_lost(self, found: list[FoundFace]) -> tuple[list[FoundFace], list[int]]:
        """Tracked faces that ``found`` lacks, held at their last landmarks while within ``hold_frames``."""
        held, lost = [], []
        for face, n in zip(self._tracked, self._lost, strict=True):
            box = _box_of(face.landmarks)
            if all(_iou(box, _box_of(f.landmarks)) < SAME_FACE_IOU for f in found) and n < self.hold_frames:
                held.append(FoundFace(face.landmarks, "held", face.detector))
                lost.append(n + 1)
        return held, lost

    def track_faces(self, frame: np.ndarray) -> list[FoundFace]:
        """Faces in the next video frame, with how each was found (see :meth:`track`)."""
        if self._tracked and self._since_detect < self.redetect_every:
            self.stats["track"] += 1
            found: list[FoundFace] = []
            crops = [self._track_crop(f.landmarks, crop) for f, crop in zip(self._tracked, self._crops, strict=True)]
            for (cx, cy, side), face in zip(crops, self._tracked, strict=True):
                pts = self._mesh_around(frame, cx, cy, side)
                self._add(found, None if pts is None else FoundFace(pts, "mesh", "track"))
            if len(found) == len(self._tracked):
                self._tracked, self._crops, self._lost = found, crops, [0] * len(found)
                self._since_detect += 1
                self.last = list(found)
                return list(found)
        # No border retries: they would cost every faceless frame a second and third search.
        found = self.find_faces(frame, border_retries=())
        held, lost = self._hold_lost(found)
        self._tracked = (found + held)[: self.max_faces]
        self._lost = ([0] * len(found) + lost)[: self.max_faces]
        self._crops = [self._track_crop(f.landmarks, None) for f in self._tracked]
        self._since_detect = 1
        self.last = list(self._tracked)
        return list(self._tracked)

    def track(self, frame: np.ndarray) -> list[np.ndarray]:
        """Faces in the next video frame, meshed around the previous frame's landmarks.

        Falls back to :meth:`find` on the first frame, every ``redetect_every`` frames and when any tracked face
        is lost; a face that :meth:`find` does not find again is held for up to ``hold_frames`` frames. Returns
        the same as :meth:`find`.
        """
        return [f.landmarks for f in self.track_faces(frame)]
