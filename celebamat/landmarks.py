"""Face landmarks (mediapipe face mesh, 478 points), named anchors and the face frame.

Named anchors are the vocabulary of landmark-aware placement: occluder assets name the face anchors their
own anchor points go to. Sides are **image sides**: ``eye_left`` is the eye with the smaller x in an upright,
unmirrored image (the subject's right eye).

All coordinates are pixels ``(x, y)`` of the image the landmarks were detected on, as float32.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

#: Number of points of the refined face mesh (468 mesh points plus 10 iris points).
NUM_LANDMARKS = 478
#: The hand landmarker looks at a picture inside a black border of each of these shares of its longer side (the
#: hand at two scales: a hand that fills a face crop and runs off its edges is found far more often inside a
#: border, and a wider one finds some that the first misses), and keeps palms found at this confidence. On 192
#: face crops with real hands over them: hands found 80 (no border, confidence 0.5) -> 120 (0.25) -> 137 (0.25 and
#: 0.5), with about the same share of each mask on the hand (0.78 -> 0.75); docs/results.md, "Hands".
HAND_PADS: tuple[float, ...] = (0.25, 0.5)
#: One pass, for real-time paths (tracked video): half the cost, 120 of the 137 hands.
FAST_HAND_PADS: tuple[float, ...] = (0.25,)
HAND_MIN_CONFIDENCE = 0.3

# Mediapipe face-mesh indices (canonical mesh topology). Image-left = the subject's right.
_EYE_LEFT_RING = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
_EYE_RIGHT_RING = (362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398)
_IRIS_LEFT = 468  # centre of the iris on the image-left eye
_IRIS_RIGHT = 473
_BROW_LEFT = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
_BROW_RIGHT = (336, 296, 334, 293, 300, 276, 283, 282, 295, 285)
#: Outer lip contour, closed polygon.
LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
#: Face oval, clockwise from the top of the forehead, closed polygon.
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)
EYE_LEFT_RING = _EYE_LEFT_RING
EYE_RIGHT_RING = _EYE_RIGHT_RING
BROW_LEFT = _BROW_LEFT
BROW_RIGHT = _BROW_RIGHT

#: Names of the face anchors, the vocabulary occluder ``targets`` refer to.
ANCHOR_NAMES = (
    "eye_left", "eye_right", "eyes_center",
    "brow_left", "brow_right",
    "nose_bridge", "nose_tip",
    "mouth_center", "mouth_left", "mouth_right", "lip_top", "lip_bottom",
    "chin", "jaw_left", "jaw_right",
    "cheek_left", "cheek_right",
    "forehead", "hairline", "temple_left", "temple_right",
    "ear_left", "ear_right",
    "face_center",
)

#: Off-face directions an asset anchor may target: the asset leaves the face that way, in the face frame.
#: ``exit_side`` is the side nearer the asset's face target; ``exit_down_side`` halfway between it and down (an
#: arm raised to the cheek from below and to the side).
EXIT_DIRECTIONS = ("exit_down", "exit_up", "exit_left", "exit_right", "exit_side", "exit_down_side")

#: Single mesh indices (or index groups averaged) behind each anchor.
_ANCHOR_INDICES: dict[str, tuple[int, ...]] = {
    "eye_left": (_IRIS_LEFT,),
    "eye_right": (_IRIS_RIGHT,),
    "brow_left": (105, 66),
    "brow_right": (334, 296),
    "nose_bridge": (168,),
    "nose_tip": (1,),
    "mouth_center": (13, 14),
    "mouth_left": (61,),
    "mouth_right": (291,),
    "lip_top": (0,),
    "lip_bottom": (17,),
    "chin": (152,),
    "jaw_left": (172,),
    "jaw_right": (397,),
    "cheek_left": (50,),
    "cheek_right": (280,),
    "forehead": (151,),
    "temple_left": (54,),
    "temple_right": (284,),
    "ear_left": (234,),
    "ear_right": (454,),
}


def same_hand(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two sets of hand landmarks (``(21, 2)`` pixels) are one hand: their points lie on average within a
    third of the palm's length (wrist to the middle finger's base) of each other."""
    palm = max(float(np.linalg.norm(a[9] - a[0])), float(np.linalg.norm(b[9] - b[0])), 1.0)
    return float(np.linalg.norm(a - b, axis=1).mean()) < palm / 3.0


@dataclass(frozen=True)
class FaceFrame:
    """Position, size and roll of a face in an image.

    Attributes:
        center: ``(x, y)`` pixel centre of the face (midpoint of eyes centre and mouth centre).
        iod: inter-ocular distance in pixels (iris centre to iris centre).
        face_width: width of the face oval at ear level, pixels.
        face_height: forehead top (mesh point 10) to chin, pixels.
        roll: angle of the eye line in radians, positive when the image-right eye is lower (y grows down).
    """

    center: tuple[float, float]
    iod: float
    face_width: float
    face_height: float
    roll: float

    @property
    def right(self) -> np.ndarray:
        """Unit vector along the eye line, towards image right when upright."""
        return np.array([math.cos(self.roll), math.sin(self.roll)], dtype=np.float64)

    @property
    def down(self) -> np.ndarray:
        """Unit vector from forehead to chin (perpendicular to the eye line)."""
        return np.array([-math.sin(self.roll), math.cos(self.roll)], dtype=np.float64)

    def measure(self, name: str) -> float:
        """A named face measure in pixels: ``iod``, ``face_width`` or ``face_height``."""
        if name not in ("iod", "face_width", "face_height"):
            raise ValueError(f"unknown face measure {name!r}; allowed: iod, face_width, face_height")
        return float(getattr(self, name))


def _check(landmarks: np.ndarray) -> np.ndarray:
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.shape != (NUM_LANDMARKS, 2):
        raise ValueError(f"landmarks must have shape ({NUM_LANDMARKS}, 2), got {pts.shape}")
    return pts


def face_anchors(landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """Named anchor points of a face.

    Args:
        landmarks: ``(478, 2)`` pixel coordinates from :func:`detect_landmarks`.

    Returns:
        A dict from every name in :data:`ANCHOR_NAMES` to a float64 ``(2,)`` array ``(x, y)``.
    """
    pts = _check(landmarks)
    out = {name: pts[list(idx)].mean(axis=0) for name, idx in _ANCHOR_INDICES.items()}
    out["eyes_center"] = (out["eye_left"] + out["eye_right"]) / 2
    out["face_center"] = (out["eyes_center"] + out["mouth_center"]) / 2
    # The mesh stops below the hairline; extend the forehead top along the chin-to-forehead axis.
    top, chin = pts[10], pts[152]
    out["hairline"] = top + 0.12 * (top - chin)
    return out


def face_frame(landmarks: np.ndarray, anchors: dict[str, np.ndarray] | None = None) -> FaceFrame:
    """The :class:`FaceFrame` of a face from its ``(478, 2)`` landmarks (and their :func:`face_anchors`, when
    the caller has them)."""
    pts = _check(landmarks)
    a = face_anchors(pts) if anchors is None else anchors
    d = a["eye_right"] - a["eye_left"]
    return FaceFrame(
        center=(float(a["face_center"][0]), float(a["face_center"][1])),
        iod=float(np.hypot(*d)),
        face_width=float(np.hypot(*(pts[454] - pts[234]))),
        face_height=float(np.hypot(*(pts[152] - pts[10]))),
        roll=float(math.atan2(d[1], d[0])),
    )


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence what mediapipe's native code prints to fd 2 while its graphs start (TFLite and absl notices
    that no setting turns off); Python-level errors still propagate as exceptions."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class Landmarker:
    """Mediapipe face mesh (478 points) and face detector, created lazily, one instance per process.

    Mediapipe solution objects cannot be pickled, so each worker process builds its own through
    :func:`get_landmarker`. Calls are serialised with a lock (the graphs are not thread-safe).
    """

    def __init__(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            os.environ.setdefault("GLOG_minloglevel", "2")
            import mediapipe as mp

        self._mp = mp
        with _quiet_native_stderr():
            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=4, refine_landmarks=True, min_detection_confidence=0.5
            )
            # The first inference initialises the delegates (and prints their notices): do it now, silenced.
            self._mesh.process(np.zeros((64, 64, 3), np.uint8))
        self._detector_graph = None  # built on first use: aligned sources (CelebAMask-HQ) never need it
        self._selfie = None
        self._hands = None
        self._lock = threading.Lock()

    def mesh(self, image: np.ndarray) -> list[np.ndarray]:
        """Face-mesh landmarks of every face found.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.

        Returns:
            A list (possibly empty) of ``(478, 2)`` float32 pixel coordinates, largest face first.
        """
        img = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
        h, w = img.shape[:2]
        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = self._mesh.process(img)
        faces = []
        for fl in res.multi_face_landmarks or []:
            pts = (np.array([(p.x, p.y) for p in fl.landmark], dtype=np.float64) * (w, h)).astype(np.float32)
            faces.append(pts)
        faces.sort(key=lambda p: -float(np.ptp(p[:, 0]) * np.ptp(p[:, 1])))
        return faces

    @property
    def _detector(self):
        if self._detector_graph is None:
            with _quiet_native_stderr():
                self._detector_graph = self._mp.solutions.face_detection.FaceDetection(
                    model_selection=1, min_detection_confidence=0.5
                )
                self._detector_graph.process(np.zeros((64, 64, 3), np.uint8))
        return self._detector_graph

    def detect(self, image: np.ndarray) -> list[tuple[float, float, float, float, float]]:
        """Face boxes from the full-range detector: ``(x0, y0, x1, y1, score)`` in pixels, largest first."""
        img = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
        h, w = img.shape[:2]
        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = self._detector.process(img)
        boxes = []
        for det in res.detections or []:
            bb = det.location_data.relative_bounding_box
            x0, y0 = bb.xmin * w, bb.ymin * h
            boxes.append((x0, y0, x0 + bb.width * w, y0 + bb.height * h, float(det.score[0])))
        boxes.sort(key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
        return boxes

    def hands(self, image: np.ndarray, pads: Sequence[float] | None = None) -> list[np.ndarray]:
        """Hand landmarks (mediapipe hands, full model, up to 4 hands a pass) of every hand found.

        The picture is looked at once inside each border of ``pads`` (about 20 ms a pass at 256 px on these
        CPUs); a hand found in more than one pass is returned once, as the first pass saw it.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.
            pads: border widths as shares of the longer side (default :data:`HAND_PADS`; 0 = no border).

        Returns:
            A list (possibly empty) of ``(21, 2)`` float32 pixel coordinates (wrist, then four joints per finger
            from the thumb to the little finger; :data:`celebamat.hands.HAND_BONES`).
        """
        if self._hands is None:
            with _quiet_native_stderr():
                self._hands = self._mp.solutions.hands.Hands(
                    static_image_mode=True, max_num_hands=4, model_complexity=1,
                    min_detection_confidence=HAND_MIN_CONFIDENCE,
                )
                self._hands.process(np.zeros((64, 64, 3), np.uint8))
        img = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
        found: list[np.ndarray] = []
        for share in HAND_PADS if pads is None else pads:
            for hand in self._hands_inside_border(img, share):
                if not any(same_hand(hand, kept) for kept in found):  # one hand seen at both scales is kept once
                    found.append(hand)
        return found

    def _hands_inside_border(self, img: np.ndarray, share: float) -> list[np.ndarray]:
        """The hands mediapipe finds in ``img`` seen inside a black border of ``share`` of its longer side, in
        ``img``'s own pixels."""
        pad = int(round(share * max(img.shape[:2])))
        if pad:
            img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        h, w = img.shape[:2]
        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = self._hands.process(img)
        return [(np.array([(p.x, p.y) for p in hl.landmark], np.float64) * (w, h) - pad).astype(np.float32)
                for hl in res.multi_hand_landmarks or []]

    def person_mask(self, image: np.ndarray) -> np.ndarray:
        """Selfie-segmentation person probability, ``(H, W)`` float32 in [0, 1]."""
        if self._selfie is None:
            with _quiet_native_stderr():
                self._selfie = self._mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
                self._selfie.process(np.zeros((64, 64, 3), np.uint8))
        img = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = self._selfie.process(img)
        return np.clip(res.segmentation_mask.astype(np.float32), 0.0, 1.0)


_LOCAL = {"pid": None, "landmarker": None}


def get_landmarker() -> Landmarker:
    """The process-local :class:`Landmarker` (rebuilt after a fork, since mediapipe graphs do not survive one)."""
    if _LOCAL["pid"] != os.getpid() or _LOCAL["landmarker"] is None:
        _LOCAL["landmarker"] = Landmarker()
        _LOCAL["pid"] = os.getpid()
    return _LOCAL["landmarker"]


def detect_landmarks(image: np.ndarray) -> np.ndarray | None:
    """Landmarks of the largest face in ``image`` (``(H, W, 3)`` uint8 RGB), or ``None`` when none is found."""
    faces = get_landmarker().mesh(image)
    return faces[0] if faces else None
