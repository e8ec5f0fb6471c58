"""Face matting of whole photos and video frames: find faces, align, predict, paste back.

Each face is found with the same landmarker and aligned with the same transform as the dataset's face
sources (:mod:`celebamat.landmarks`, :mod:`celebamat.faces.align`), so the model sees crops framed exactly like
its training data. Its matte is predicted on the aligned crop and warped back into the frame::

    from facemat.predict import Predictor
    from facemat.runtime import load_runtime

    predictor = Predictor(load_runtime("student.safetensors"))
    result = predictor.predict(rgb)          # rgb (H, W, 3) uint8
    result.alpha                             # (H, W) float32 in [0, 1], 1 = visible face skin

Several faces per frame are handled (their mattes are merged with a per-pixel maximum); a frame without a
face gives an all-zero matte. For video, :class:`FaceFinder` in tracking mode meshes each face in a crop
around its previous landmarks and runs the full-range detector only every ``redetect_every`` frames or when a
face is lost.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from celebamat.faces.align import align_image, alignment_transform, invert_transform

from .io import atomic_path, atomic_write_json

#: Crop sides (detector box side times these, tried in order) meshed around a box from the full-range
#: detector: the box covers brows to mouth only, and the short-range mesh detector needs the whole head with
#: some context (the same tries as the face sources' ``celebamat.faces.photo.locate_face``).
DETECT_CROP_EXPANDS = (2.2, 1.6, 3.2)
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
#: Log-scale range mapped to [0, 1] by :func:`uncertainty_image` (scale e^-7 ~ 0.001 to e^0 = 1).
LOG_SCALE_RANGE = (-7.0, 0.0)


# ----------------------------------------------------------------------------------------------------------
# Finding and tracking faces


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
        redetect_every: in tracking mode, run the full-range detector every this many frames, to pick up faces
            that entered the frame (and whenever a tracked face is lost).
    """

    def __init__(self, landmarker: Any = None, max_faces: int = 4, min_size: float = 24.0, redetect_every: int = 30):
        if landmarker is None:
            from celebamat.landmarks import get_landmarker

            landmarker = get_landmarker()
        if max_faces < 1:
            raise ValueError(f"max_faces must be >= 1, got {max_faces}")
        if redetect_every < 1:
            raise ValueError(f"redetect_every must be >= 1, got {redetect_every}")
        self.landmarker = landmarker
        self.max_faces = int(max_faces)
        self.min_size = float(min_size)
        self.redetect_every = int(redetect_every)
        self._tracked: list[np.ndarray] = []
        self._crops: list[tuple[float, float, float]] = []  # (cx, cy, side) of each tracked face's mesh crop
        self._since_detect = 0
        #: Counts of detector runs and tracked (detector-free) frames, for benchmarks.
        self.stats = {"detect": 0, "track": 0}

    def reset(self) -> None:
        """Forget tracked faces (call between videos)."""
        self._tracked = []
        self._crops = []
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

    def _add(self, found: list[np.ndarray], pts: np.ndarray | None) -> None:
        if pts is None:
            return
        box = _box_of(pts)
        if all(_iou(box, _box_of(f)) < SAME_FACE_IOU for f in found):
            found.append(pts)

    def find(self, image: np.ndarray) -> list[np.ndarray]:
        """Every face in a photo: full-range detector, then the face mesh on a crop around each box.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.

        Returns:
            Up to ``max_faces`` ``(478, 2)`` float32 landmark arrays in image pixels, largest face first.
        """
        from celebamat.faces.photo import detect_faces

        self.stats["detect"] += 1
        found: list[np.ndarray] = []
        # The face sources' detector (full-range, plus tiled windows for small faces in large photos).
        for x0, y0, x1, y1, _score in detect_faces(image, self.landmarker):
            side = max(x1 - x0, y1 - y0)
            if side < self.min_size:
                continue
            for expand in DETECT_CROP_EXPANDS:
                pts = self._mesh_around(image, (x0 + x1) / 2, (y0 + y1) / 2, side * expand)
                if pts is not None:
                    self._add(found, pts)
                    break
            if len(found) >= self.max_faces:
                break
        if not found:
            # The full-range detector misses some very large, cut-off faces that the mesh's own detector finds.
            for pts in self.landmarker.mesh(image)[: self.max_faces]:
                self._add(found, pts)
        found.sort(key=lambda p: -float(np.ptp(p[:, 0]) * np.ptp(p[:, 1])))
        return found[: self.max_faces]

    def track(self, frame: np.ndarray) -> list[np.ndarray]:
        """Faces in the next video frame, meshed around the previous frame's landmarks.

        Falls back to :meth:`find` on the first frame, every ``redetect_every`` frames and when any tracked face
        is lost. Returns the same as :meth:`find`.
        """
        if self._tracked and self._since_detect < self.redetect_every:
            self.stats["track"] += 1
            found: list[np.ndarray] = []
            crops = [self._track_crop(lm, crop) for lm, crop in zip(self._tracked, self._crops, strict=True)]
            for cx, cy, side in crops:
                self._add(found, self._mesh_around(frame, cx, cy, side))
            if len(found) == len(self._tracked):
                self._tracked, self._crops = found, crops
                self._since_detect += 1
                return list(found)
        self._tracked = self.find(frame)
        self._crops = [self._track_crop(lm, None) for lm in self._tracked]
        self._since_detect = 1
        return list(self._tracked)


# ----------------------------------------------------------------------------------------------------------
# Prediction


@dataclass
class FacePrediction:
    """One face of a frame.

    Attributes:
        landmarks: ``(478, 2)`` float32 pixel coordinates in the frame.
        transform: ``(2, 3)`` float64, frame pixels -> aligned crop pixels.
        alpha: ``(S, S)`` float32 in [0, 1], the matte on the aligned crop.
        log_scale: ``(S, S)`` float32 teacher log-scale on the crop, or ``None`` for a student.
    """

    landmarks: np.ndarray
    transform: np.ndarray
    alpha: np.ndarray
    log_scale: np.ndarray | None = None


@dataclass
class FrameResult:
    """The matte of a whole frame.

    Attributes:
        alpha: ``(H, W)`` float32 in [0, 1]; 1 = visible face skin, 0 = occluders and background.
        log_scale: ``(H, W)`` float32 teacher log-scale pasted back (``NaN`` outside every face crop), or
            ``None`` for a student.
        faces: the faces found, largest first (empty when the frame has none).
    """

    alpha: np.ndarray
    log_scale: np.ndarray | None
    faces: list[FacePrediction] = field(default_factory=list)


def _paste_roi(transform: np.ndarray, size: int, shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Pixel box ``(x0, y0, x1, y1)`` of the frame covered by the aligned crop, or ``None`` if outside."""
    inv = invert_transform(transform)
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], dtype=np.float64) @ inv[:, :2].T + inv[:, 2]
    h, w = shape
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return None
    return int(x0), int(y0), int(x1), int(y1)


def paste_back(
    crop: np.ndarray, transform: np.ndarray, shape: tuple[int, int], fill: float = 0.0
) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """Warp an aligned-crop map back into frame coordinates, only over the frame region the crop covers.

    Args:
        crop: ``(S, S)`` float32 map on the aligned crop.
        transform: ``(2, 3)`` frame -> crop transform (from ``alignment_transform``).
        shape: ``(H, W)`` of the frame.
        fill: value outside the crop.

    Returns:
        ``(patch, roi)``: the warped patch and its box ``(x0, y0, x1, y1)`` in the frame (``None`` and an empty
        patch when the crop lies outside the frame).
    """
    size = crop.shape[0]
    roi = _paste_roi(transform, size, shape)
    if roi is None:
        return np.zeros((0, 0), np.float32), None
    x0, y0, x1, y1 = roi
    # Crop pixels -> ROI pixels: the inverse alignment, then the ROI origin moved to (x0, y0).
    m = invert_transform(transform)
    m[:, 2] -= (x0, y0)
    patch = align_image(crop.astype(np.float32), m, (x1 - x0, y1 - y0), border="constant", border_value=fill)
    return patch, roi


class Predictor:
    """Runs a matting runtime on every face of a frame and pastes the mattes back.

    Args:
        runtime: a :class:`facemat.runtime.Runtime` (torch or ONNX).
        finder: a :class:`FaceFinder` (default: one on the process-local landmarker).
    """

    def __init__(self, runtime: Any, finder: FaceFinder | None = None) -> None:
        self.runtime = runtime
        self.finder = finder if finder is not None else FaceFinder()
        self.size = int(runtime.input_size)

    @property
    def has_uncertainty(self) -> bool:
        return bool(self.runtime.has_uncertainty)

    def predict_crops(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Mattes of aligned crops.

        Args:
            crops: ``(N, S, S, 3)`` uint8 RGB aligned faces.

        Returns:
            ``alpha`` ``(N, S, S)`` float32 in [0, 1] and ``log_scale`` ``(N, S, S)`` float32 or ``None``.
        """
        x = np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
        out = self.runtime(x)
        alpha = np.clip(out["alpha"][:, 0], 0.0, 1.0).astype(np.float32)
        log_scale = out["log_scale"][:, 0].astype(np.float32) if "log_scale" in out else None
        return alpha, log_scale

    def predict(self, image: np.ndarray, faces: list[np.ndarray] | None = None, track: bool = False) -> FrameResult:
        """Matte every face of a frame.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.
            faces: landmarks to use instead of finding faces (``(478, 2)`` px each).
            track: find faces with :meth:`FaceFinder.track` (consecutive video frames) instead of
                :meth:`FaceFinder.find`.

        Returns:
            A :class:`FrameResult`.
        """
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
        h, w = image.shape[:2]
        if faces is None:
            faces = self.finder.track(image) if track else self.finder.find(image)
        alpha = np.zeros((h, w), np.float32)
        log_scale = np.full((h, w), np.nan, np.float32) if self.has_uncertainty else None
        if not faces:
            return FrameResult(alpha, log_scale, [])
        transforms = [alignment_transform(lm, self.size) for lm in faces]
        crops = np.stack([align_image(image, m, self.size) for m in transforms])
        crop_alpha, crop_scale = self.predict_crops(crops)
        results = []
        for i, (lm, m) in enumerate(zip(faces, transforms, strict=True)):
            patch, roi = paste_back(crop_alpha[i], m, (h, w))
            results.append(FacePrediction(np.asarray(lm, np.float32), m, crop_alpha[i],
                                          None if crop_scale is None else crop_scale[i]))
            if roi is None:
                continue
            x0, y0, x1, y1 = roi
            region = alpha[y0:y1, x0:x1]
            if log_scale is not None and crop_scale is not None:
                # Where faces overlap, keep the uncertainty of the face whose matte wins the maximum.
                sp, _ = paste_back(crop_scale[i], m, (h, w), fill=np.nan)
                ls = log_scale[y0:y1, x0:x1]
                take = ((patch >= region) & ~np.isnan(sp)) | np.isnan(ls)
                ls[take] = sp[take]
            np.maximum(region, patch, out=region)
        return FrameResult(alpha, log_scale, results)


# ----------------------------------------------------------------------------------------------------------
# Pictures of the result


def alpha_image(alpha: np.ndarray) -> np.ndarray:
    """An ``(H, W)`` matte in [0, 1] as 8-bit ``L`` pixels, 255 = skin (the dataset's encoding)."""
    return np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)


def overlay_image(image: np.ndarray, alpha: np.ndarray, color: tuple[int, int, int] = (40, 230, 90),
                  strength: float = 0.55) -> np.ndarray:
    """The photo with predicted skin tinted ``color`` and the 0.5 contour of the matte drawn, so occluders
    (untinted) stand out. ``image`` ``(H, W, 3)`` uint8 RGB, ``alpha`` ``(H, W)`` in [0, 1]; returns uint8 RGB."""
    out = image.copy()
    # Work only inside the box of non-zero alpha: a face is a small part of most frames.
    x, y, w, h = cv2.boundingRect((alpha > 0).astype(np.uint8))
    if w == 0 or h == 0:
        return out
    sub = image[y:y + h, x:x + w].astype(np.float32)
    a = (np.clip(alpha[y:y + h, x:x + w], 0, 1) * strength)[..., None]
    sub += (np.asarray(color, np.float32) - sub) * a
    out[y:y + h, x:x + w] = np.clip(sub + 0.5, 0, 255).astype(np.uint8)
    mask = (alpha[y:y + h, x:x + w] >= 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE, offset=(x, y))
    if contours:
        thick = max(1, round(max(image.shape[:2]) / 400))
        cv2.drawContours(out, contours, -1, (255, 255, 255), thick, lineType=cv2.LINE_AA)
    return out


def uncertainty_image(log_scale: np.ndarray) -> np.ndarray:
    """Teacher log-scale as an RGB heat map (inferno), over the fixed range :data:`LOG_SCALE_RANGE` so that maps
    of different photos compare; black outside every face crop (``NaN``)."""
    lo, hi = LOG_SCALE_RANGE
    v = np.clip((np.nan_to_num(log_scale, nan=lo) - lo) / (hi - lo), 0, 1)
    heat = cv2.applyColorMap(np.round(v * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    heat = cv2.cvtColor(heat, cv2.COLOR_BGR2RGB)
    heat[np.isnan(log_scale)] = 0
    return heat


# ----------------------------------------------------------------------------------------------------------
# Files and folders


#: File suffixes treated as photos (lower case).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


class PredictInputError(ValueError):
    """An input path that is missing or of an unsupported kind; the message names it."""


def collect_inputs(inputs: list[str | os.PathLike]) -> list[tuple[Path, Path]]:
    """Expand files and folders into ``(file, output stem)`` pairs, in a stable order.

    A folder contributes its photos and videos recursively (sorted), each written under the folder's name
    with its relative path; a file contributes itself. Stems that would collide get ``-2``, ``-3``... appended.
    """
    from facemat.video import VIDEO_SUFFIXES

    known = IMAGE_SUFFIXES + VIDEO_SUFFIXES
    pairs: list[tuple[Path, Path]] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in known)
            if not files:
                raise PredictInputError(f"folder {p} holds no photo or video ({', '.join(known)})")
            pairs += [(f, Path(p.resolve().name) / f.relative_to(p).with_suffix("")) for f in files]
        elif p.is_file():
            if p.suffix.lower() not in known:
                raise PredictInputError(
                    f"{p}: unsupported file type {p.suffix!r}; photos and videos: {', '.join(known)}"
                )
            pairs.append((p, Path(p.stem)))
        else:
            raise PredictInputError(f"input {p} does not exist")
    seen: dict[Path, int] = {}
    out = []
    for f, stem in pairs:
        n = seen.get(stem, 0) + 1
        seen[stem] = n
        out.append((f, stem if n == 1 else stem.with_name(f"{stem.name}-{n}")))
    return out


def render_outputs(image: np.ndarray, result: FrameResult, effect: str | None = None,
                   uncertainty: bool = False) -> dict[str, np.ndarray]:
    """The pictures written for one frame: ``alpha`` (``(H, W)`` uint8, 255 = skin), ``overlay`` (RGB),
    ``effect`` (RGB, when ``effect`` is named) and ``uncertainty`` (RGB heat map, teacher only)."""
    out = {"alpha": alpha_image(result.alpha), "overlay": overlay_image(image, result.alpha)}
    if effect is not None:
        from facemat.effects import apply_effect

        out["effect"] = apply_effect(effect, image, result.alpha, [f.landmarks for f in result.faces])
    if uncertainty and result.log_scale is not None:
        out["uncertainty"] = uncertainty_image(result.log_scale)
    return out


def _save_png(path: Path, pixels: np.ndarray) -> None:
    from PIL import Image

    with atomic_path(path, suffix=".png") as part:
        Image.fromarray(pixels).save(part, format="PNG")


def predict_image(predictor: Predictor, path: str | os.PathLike, out_dir: str | os.PathLike, stem: str | os.PathLike,
                  effect: str | None = None, uncertainty: bool = False) -> dict[str, Any]:
    """Matte one photo and write ``<stem>_alpha.png``, ``<stem>_overlay.png`` and, when asked,
    ``<stem>_<effect>.png`` and ``<stem>_uncertainty.png`` under ``out_dir``. Returns a summary dict.

    A photo above :data:`celebamat.faces.io.LARGE_IMAGE_PIXELS` is matted downscaled to that size (its outputs
    have that size; the summary's ``downscaled_from`` gives the original); one above
    :data:`celebamat.faces.io.MAX_IMAGE_PIXELS` raises :class:`celebamat.faces.io.ImageReadError`."""
    from celebamat.faces.io import read_image

    read: dict = {}
    image = read_image(path, info=read)
    result = predictor.predict(image)
    written = {}
    for kind, pixels in render_outputs(image, result, effect, uncertainty).items():
        name = effect if kind == "effect" else kind
        target = Path(out_dir) / f"{stem}_{name}.png"
        _save_png(target, pixels)
        written[kind] = str(target)
    return {"input": str(path), "kind": "image", "size": list(image.shape[1::-1]), "faces": len(result.faces),
            **({"downscaled_from": read["downscaled_from"]} if "downscaled_from" in read else {}),
            "outputs": written}


def predict_video(predictor: Predictor, path: str | os.PathLike, out_dir: str | os.PathLike, stem: str | os.PathLike,
                  effect: str | None = None, uncertainty: bool = False, smooth: float = 0.0, track: bool = True,
                  progress: bool = True) -> dict[str, Any]:
    """Matte every frame of a video and write ``<stem>_alpha.mp4``, ``<stem>_overlay.mp4`` (and the effect and
    uncertainty videos when asked) at the input's frame rate.

    Args:
        smooth: temporal smoothing strength in [0, 1) (:class:`facemat.video.AlphaSmoother`); 0 = off.
        track: follow faces from the previous frame's landmarks (fast) instead of detecting in every frame.

    Returns:
        A summary dict: frames, frames with faces, seconds and frames per second of the processing.
    """
    import time
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor
    from contextlib import ExitStack

    from tqdm.auto import tqdm

    from facemat.video import AlphaSmoother, VideoWriter, read_frames, video_info

    info = video_info(path)
    smoother = AlphaSmoother(smooth) if smooth > 0 else None
    predictor.finder.reset()
    kinds = ["alpha", "overlay"] + (["effect"] if effect else []) + (
        ["uncertainty"] if uncertainty and predictor.has_uncertainty else [])
    targets = {k: Path(out_dir) / f"{stem}_{effect if k == 'effect' else k}.mp4" for k in kinds}
    frames = with_faces = 0
    start = time.perf_counter()
    with ExitStack() as stack:
        size = (info.width, info.height)
        writers = {k: stack.enter_context(VideoWriter(t, info.fps, size)) for k, t in targets.items()}

        def emit(frame: np.ndarray, result: FrameResult) -> None:
            for kind, pixels in render_outputs(frame, result, effect, uncertainty).items():
                writers[kind].write(pixels)

        # Rendering and encoding (OpenCV releases the GIL) of frame t overlap the matting of frame t + 1; one
        # worker keeps the frames in order, and at most two frames wait, so memory stays flat.
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=1))
        pending: deque[Future] = deque()
        bar = tqdm(read_frames(path), total=info.frames or None, desc=Path(path).name, unit="frame",
                   disable=not progress)
        for frame in bar:
            result = predictor.predict(frame, track=track)
            if smoother is not None:
                result.alpha = smoother(result.alpha)
            pending.append(pool.submit(emit, frame, result))
            while len(pending) > 2:
                pending.popleft().result()
            frames += 1
            with_faces += bool(result.faces)
        while pending:
            pending.popleft().result()  # re-raises a failed write before the files are closed
        if frames == 0:
            # Raised inside the writers' context, so no empty video is left behind.
            raise PredictInputError(f"video {path} has no decodable frame")
    seconds = time.perf_counter() - start
    return {"input": str(path), "kind": "video", "size": [info.width, info.height], "frames": frames,
            "frames_with_faces": with_faces, "seconds": round(seconds, 3), "fps": round(frames / seconds, 2),
            "outputs": {k: str(t) for k, t in targets.items()}}


def predict_paths(
    inputs: list[str | os.PathLike],
    out_dir: str | os.PathLike,
    runtime: Any,
    effect: str | None = None,
    uncertainty: bool = False,
    smooth: float = 0.0,
    track: bool = True,
    max_faces: int = 4,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Matte photos, folders and videos; the library function behind ``facemat-predict``.

    Args:
        inputs: photo files, video files or folders of them.
        out_dir: output folder (created); also receives ``predictions.json`` (the returned summaries).
        runtime: a :class:`facemat.runtime.Runtime` (see :func:`facemat.runtime.load_runtime`).
        effect: a face effect name from :data:`facemat.effects.EFFECTS`, or ``None``.
        uncertainty: also write the uncertainty map (needs a teacher checkpoint).
        smooth: temporal smoothing strength for videos, in [0, 1).
        track: track faces through videos instead of detecting them in every frame.
        max_faces: most faces matted per frame.

    Returns:
        One summary dict per input file; a file that cannot be read gets ``{"input", "error"}`` instead.
    """
    from tqdm.auto import tqdm

    from facemat.video import VIDEO_SUFFIXES

    if effect is not None:
        from facemat.effects import EFFECTS

        if effect not in EFFECTS:
            raise PredictInputError(f"unknown effect {effect!r}; choose one of {', '.join(sorted(EFFECTS))}")
    if uncertainty and not runtime.has_uncertainty:
        raise PredictInputError(
            f"--uncertainty needs a teacher checkpoint; this one is a {runtime.config.get('model', 'student')!r}"
        )
    from celebamat.utils.io import output_dir

    files = collect_inputs(inputs)
    out = output_dir(out_dir)
    from celebamat.faces.io import ImageReadError
    from facemat.video import VideoError

    predictor = Predictor(runtime, FaceFinder(max_faces=max_faces))
    summaries = []
    for path, stem in tqdm(files, desc="predict", unit="file", disable=not progress or len(files) < 2):
        try:
            if path.suffix.lower() in VIDEO_SUFFIXES:
                summaries.append(predict_video(predictor, path, out, stem, effect, uncertainty, smooth, track,
                                               progress))
            else:
                summaries.append(predict_image(predictor, path, out, stem, effect, uncertainty))
        except (ImageReadError, VideoError, PredictInputError) as exc:
            # One broken file in a folder should not cost the rest of the run: record it and go on.
            summaries.append({"input": str(path), "error": str(exc)})
    atomic_write_json(out / "predictions.json", summaries)
    return summaries
