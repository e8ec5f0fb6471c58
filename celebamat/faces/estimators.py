"""Skin estimators: what makes the skin matte of a photo that has no annotation (``folder:`` and ``demo``).

An estimator maps an image and its face-mesh landmarks to a skin matte meeting the one skin definition of
``docs/faces.md`` (face skin with beard and moustache, brows, eyes with lids and lashes, nose, lips, mouth
interior and teeth; not scalp hair, hats, glasses, ears, neck or objects)::

    est = skin_estimator()                       # landmarks + person mask + colour (default)
    est = skin_estimator("teacher.safetensors")  # a FaceMat checkpoint (trained on true masks)
    est = skin_estimator("bundled")              # FaceMat's bundled student ("bundled:NAME": another one)
    skin = est(image, landmarks)                 # (H, W) float32 in [0, 1]
    est.name                                     # recorded in each row's ``skin_source``
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from celebamat.errors import CelebAMatError

#: ``skin_source`` of the landmark estimator; the suffix changes whenever its output changes.
LANDMARK_ESTIMATOR = "estimate:landmarks-v6"


class SkinEstimator(Protocol):
    """Anything that estimates a skin matte: ``name`` and ``__call__(image, landmarks) -> (H, W) float32``."""

    name: str

    def __call__(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray: ...


class LandmarkSkinEstimator:
    """:func:`celebamat.faces.skin_landmarks.landmark_skin` with the selfie-segmentation person mask."""

    name = LANDMARK_ESTIMATOR

    def __call__(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """Skin of ``image`` (``(H, W, 3)`` uint8 RGB) from its ``(478, 2)`` pixel landmarks, float32 in [0, 1]."""
        from celebamat.faces.skin_landmarks import landmark_skin
        from celebamat.landmarks import get_landmarker

        return landmark_skin(image, landmarks, get_landmarker().person_mask(image))


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]


#: ``skin_model`` values naming a model bundled with facemat (``bundled`` or ``bundled:NAME``).
BUNDLED = "bundled"


def is_bundled(skin_model: str | os.PathLike | None) -> bool:
    return skin_model is not None and (str(skin_model) == BUNDLED or str(skin_model).startswith(BUNDLED + ":"))


def bundled_model_path(skin_model: str = BUNDLED) -> Path:
    """The weights of the facemat model named by ``bundled`` (the default) or ``bundled:NAME``.

    facemat is imported here, when asked, never when this module loads: celebamat does not depend on facemat.
    """
    name = str(skin_model).partition(":")[2] or None
    try:
        from facemat.pretrained import PretrainedError, pretrained_dir
    except ImportError as exc:
        raise CelebAMatError(f"skin_model {str(skin_model)!r} needs the facemat package ({exc.name} is missing)") \
            from exc
    try:
        return pretrained_dir(name) / "model.safetensors"
    except PretrainedError as exc:
        raise CelebAMatError(f"skin_model {str(skin_model)!r}: {exc}") from exc


class ModelSkinEstimator:
    """A FaceMat checkpoint (torch ``.safetensors``/``.pt`` or exported ``.onnx``) as a skin estimator.

    The face is aligned to the model's input exactly as FaceMat's training rows are framed
    (:func:`celebamat.faces.align.alignment_transform` at the model's input size), the matte predicted there
    and warped back onto ``image``. A model trained on sources with true masks (CelebAMask-HQ) then
    estimates the skin of any photo. Its name records the file name and the first 12 hex digits of its
    SHA-256, so every row says which weights made its skin.

    ``path`` may also be ``bundled`` or ``bundled:NAME``: a model bundled with facemat; its name then reads
    ``estimate:facemat:bundled:NAME:<sha256 prefix>``.

    Raises:
        CelebAMatError: the file does not exist, or facemat/torch cannot load it.
    """

    def __init__(self, path: str | os.PathLike, device: str = "cpu") -> None:
        bundled = None
        if is_bundled(path):
            bundled = bundled_model_path(str(path))
            path = bundled
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise CelebAMatError(f"skin_model {str(self.path)!r} does not exist; give the path of a FaceMat "
                                 "checkpoint (.safetensors, .pt) or of an exported .onnx")
        try:
            from facemat.runtime import load_runtime

            # One thread: the same float sums, hence the same 8-bit mattes, whatever the build's worker count
            # (each worker process gets its own engine; a build is parallel across faces, not inside one).
            self.runtime = load_runtime(self.path, device=device, threads=1)
        except ImportError as exc:
            raise CelebAMatError(f"skin_model {self.path} needs the facemat package and its runtime "
                                 f"({exc.name} is missing)") from exc
        except Exception as exc:  # a wrong or damaged file: say which
            raise CelebAMatError(f"skin_model {self.path} cannot be loaded as a FaceMat checkpoint: {exc}") from exc
        self.size = int(self.runtime.input_size)
        label = f"bundled:{self.path.parent.name}" if bundled is not None else self.path.name
        self.name = f"estimate:facemat:{label}:{_digest(self.path)}"

    def __call__(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """Skin of ``image`` (``(H, W, 3)`` uint8 RGB) from its ``(478, 2)`` pixel landmarks, float32 in [0, 1]."""
        from celebamat.faces.align import align_image, alignment_transform, invert_transform

        h, w = image.shape[:2]
        m = alignment_transform(np.asarray(landmarks, np.float64), self.size)
        crop = align_image(image, m, self.size)
        x = crop[None].transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        alpha = np.clip(self.runtime(x)["alpha"][0, 0], 0.0, 1.0).astype(np.float32)
        back = align_image(alpha, invert_transform(m), (w, h), border="constant")
        return np.clip(back, 0.0, 1.0).astype(np.float32)


_CACHE: dict[tuple[str | None, bool, int], SkinEstimator] = {}


def skin_estimator(skin_model: str | os.PathLike | None = None) -> SkinEstimator:
    """The estimator for ``skin_model`` (``None``: the landmark estimator; ``bundled`` or ``bundled:NAME``: a model
    bundled with facemat; else a checkpoint path), one per process and model (a worker loads a checkpoint once,
    not once per face)."""
    path = bundled_model_path(str(skin_model)) if is_bundled(skin_model) else skin_model
    key = (None if path is None else str(Path(path).expanduser().resolve()), is_bundled(skin_model), os.getpid())
    est = _CACHE.get(key)
    if est is None:
        est = LandmarkSkinEstimator() if skin_model is None else ModelSkinEstimator(skin_model)
        _CACHE[key] = est
    return est
