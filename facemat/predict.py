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
face gives an all-zero matte. Faces are found by :class:`celebamat.faces.finder.FaceFinder` (YuNet and
BlazeFace, then the face mesh; re-exported here); for video it meshes each face in a crop around its previous
landmarks, runs the detectors only every ``redetect_every`` frames or when a face is lost, and holds a lost face
for a few frames.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from celebamat.faces.align import align_image, alignment_transform, invert_transform
from celebamat.faces.finder import FaceFinder, FoundFace
from celebamat.landmarks import FAST_HAND_PADS

from .handprior import hand_prior_mask
from .io import atomic_path, atomic_write_json

#: Log-scale range mapped to [0, 1] by :func:`uncertainty_image` (scale e^-7 ~ 0.001 to e^0 = 1).
LOG_SCALE_RANGE = (-7.0, 0.0)


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
        found: how the face was found (``None`` when the caller passed the landmarks).
    """

    landmarks: np.ndarray
    transform: np.ndarray
    alpha: np.ndarray
    log_scale: np.ndarray | None = None
    found: FoundFace | None = None


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
        hand_prior: after matting, cut the hands that mediapipe's hand landmarker finds in the frame out of the
            matte (:func:`facemat.handprior.hand_prior_mask`). Measured in docs/results.md: +0.05 IoU on
            composites with real hands, and one false hand on 16 real photos; off by default.
    """

    def __init__(self, runtime: Any, finder: FaceFinder | None = None, hand_prior: bool = False) -> None:
        self.runtime = runtime
        self.finder = finder if finder is not None else FaceFinder()
        self.size = int(runtime.input_size)
        self.hand_prior = bool(hand_prior)

    @property
    def has_uncertainty(self) -> bool:
        return bool(self.runtime.has_uncertainty)

    def predict_crops(self, crops: np.ndarray, fast: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Mattes of aligned crops.

        Args:
            crops: ``(N, S, S, 3)`` uint8 RGB aligned faces.
            fast: one pass of the hand landmarker instead of two, for a model with the hand prior
                (:data:`celebamat.landmarks.FAST_HAND_PADS`: what video frames get).

        Returns:
            ``alpha`` ``(N, S, S)`` float32 in [0, 1] and ``log_scale`` ``(N, S, S)`` float32 or ``None``.
        """
        x = np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
        out = self.runtime(x, FAST_HAND_PADS) if fast else self.runtime(x)
        alpha = np.clip(out["alpha"][:, 0], 0.0, 1.0).astype(np.float32)
        log_scale = out["log_scale"][:, 0].astype(np.float32) if "log_scale" in out else None
        return alpha, log_scale

    def predict(self, image: np.ndarray, faces: list[np.ndarray] | None = None, track: bool = False,
                fast_hands: bool | None = None) -> FrameResult:
        """Matte every face of a frame.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.
            faces: landmarks to use instead of finding faces (``(478, 2)`` px each).
            track: find faces with :meth:`FaceFinder.track` (consecutive video frames) instead of
                :meth:`FaceFinder.find`.
            fast_hands: one pass of the hand landmarker (``fast`` of :meth:`predict_crops`); default: when
                ``track`` (video frames get one pass, photos two).

        Returns:
            A :class:`FrameResult`.
        """
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
        h, w = image.shape[:2]
        found: list[FoundFace | None]
        if faces is None:
            found = list(self.finder.track_faces(image) if track else self.finder.find_faces(image))
            faces = [f.landmarks for f in found]
        else:
            found = [None] * len(faces)
        alpha = np.zeros((h, w), np.float32)
        log_scale = np.full((h, w), np.nan, np.float32) if self.has_uncertainty else None
        if not faces:
            return FrameResult(alpha, log_scale, [])
        transforms = [alignment_transform(lm, self.size) for lm in faces]
        crops = np.stack([align_image(image, m, self.size) for m in transforms])
        crop_alpha, crop_scale = self.predict_crops(crops, fast=track if fast_hands is None else fast_hands)
        results = []
        for i, (lm, m) in enumerate(zip(faces, transforms, strict=True)):
            patch, roi = paste_back(crop_alpha[i], m, (h, w))
            results.append(FacePrediction(np.asarray(lm, np.float32), m, crop_alpha[i],
                                          None if crop_scale is None else crop_scale[i], found[i]))
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
        if self.hand_prior:
            alpha *= 1.0 - hand_prior_mask(image, self.finder.landmarker)
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
            "found": [f.found.summary() for f in result.faces if f.found is not None],
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
            result = predictor.predict(frame, track=track, fast_hands=True)
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
    hand_prior: bool = False,
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
        hand_prior: also cut the hands mediapipe's hand landmarker finds out of the matte (see :class:`Predictor`).

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

    predictor = Predictor(runtime, FaceFinder(max_faces=max_faces), hand_prior=hand_prior)
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
