"""Video input and output (OpenCV) and temporal smoothing of mattes.

Frames are ``(H, W, 3)`` uint8 RGB everywhere in ``facemat``; OpenCV's BGR stays inside this module.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

#: File suffixes treated as videos (lower case).
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")

#: Codec of written videos, by suffix (the OpenCV wheels ship an MPEG-4 Part 2 and an MJPEG encoder).
_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


class VideoError(ValueError):
    """A video that cannot be opened or written; the message names the file."""


@dataclass(frozen=True)
class VideoInfo:
    """``fps`` (frames per second, 25 when the file does not say), ``width``, ``height``, ``frames`` (as the
    container reports it; may be 0 or approximate)."""

    fps: float
    width: int
    height: int
    frames: int


def video_info(path: str | os.PathLike) -> VideoInfo:
    """Frame rate, size and frame count of a video file."""
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise VideoError(f"cannot open video {path}: not a video OpenCV can decode, or missing")
        fps = cap.get(cv2.CAP_PROP_FPS)
        return VideoInfo(
            fps=float(fps) if fps and fps > 0 and np.isfinite(fps) else 25.0,
            width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            frames=max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT))),
        )
    finally:
        cap.release()


def read_frames(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """The frames of a video as ``(H, W, 3)`` uint8 RGB arrays, in order."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"cannot open video {path}: not a video OpenCV can decode, or missing")
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            if frame.ndim == 2:
                frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


class VideoWriter:
    """Writes RGB (or single-channel) uint8 frames to a video file; a context manager.

    The codec follows the suffix: ``.mp4``/``.mov``/``.m4v`` MPEG-4, ``.avi``/``.mkv`` MJPEG. The file is written
    under a temporary name and renamed on a clean close, so an interrupted run leaves no truncated video.
    """

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int]) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in _FOURCC:
            raise VideoError(f"cannot write {self.path}: use one of {', '.join(sorted(_FOURCC))}")
        self.size = (int(size[0]), int(size[1]))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._part = self.path.with_name(f".{self.path.stem}.part{suffix}")
        self._writer = cv2.VideoWriter(str(self._part), cv2.VideoWriter_fourcc(*_FOURCC[suffix]), float(fps), self.size)
        if not self._writer.isOpened():
            raise VideoError(f"OpenCV cannot write {self.path} with codec {_FOURCC[suffix]}")
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one ``(H, W, 3)`` RGB or ``(H, W)`` grey uint8 frame of the writer's size."""
        if frame.shape[1::-1][:2] != self.size:
            raise VideoError(f"frame of size {frame.shape[1::-1][:2]} written to {self.path} of size {self.size}")
        bgr = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        self._writer.write(np.ascontiguousarray(bgr, dtype=np.uint8))
        self.frames += 1

    def close(self, keep: bool = True) -> None:
        self._writer.release()
        if keep:
            os.replace(self._part, self.path)
        else:
            self._part.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(keep=exc_type is None)


class AlphaSmoother:
    """Temporal smoothing of video mattes that damps flicker without ghosting.

    Each pixel follows ``a_t = w * a_{t-1} + (1 - w) * alpha_t`` with ``w = strength * (1 - |delta| / motion)``
    clipped to ``[0, strength]``, where ``delta`` is the change from the previous smoothed matte: small
    frame-to-frame jitter is averaged away, while a real change (a hand moving in, the face turning) larger
    than ``motion`` passes through at once.

    Args:
        strength: in [0, 1); 0 disables smoothing.
        motion: change of alpha (in [0, 1]) treated as real motion rather than flicker.
    """

    def __init__(self, strength: float = 0.6, motion: float = 0.3) -> None:
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"smoothing strength must be in [0, 1), got {strength}")
        if motion <= 0:
            raise ValueError(f"motion threshold must be > 0, got {motion}")
        self.strength = float(strength)
        self.motion = float(motion)
        self._prev: np.ndarray | None = None

    def reset(self) -> None:
        self._prev = None

    def __call__(self, alpha: np.ndarray) -> np.ndarray:
        """Smooth the next ``(H, W)`` float32 matte; returns a new array."""
        alpha = np.asarray(alpha, np.float32)
        if self.strength == 0.0 or self._prev is None or self._prev.shape != alpha.shape:
            self._prev = alpha.copy()
            return alpha.copy()
        delta = np.abs(alpha - self._prev)
        w = self.strength * np.clip(1.0 - delta / self.motion, 0.0, 1.0)
        out = w * self._prev + (1.0 - w) * alpha
        self._prev = out
        return out.astype(np.float32, copy=True)
