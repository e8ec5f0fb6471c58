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
LANDMARK_ESTIMATOR = "estimate:landmarks-v7"


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


#: ``skin_model`` naming the hand-written landmark estimator (:class:`LandmarkSkinEstimator`).
LANDMARKS = "landmarks"
#: The skin estimator of ``folder:`` photos when a recipe names none: the bundled FaceMat student. Scored with
#: ``celebamat faces score-skin`` against the landmark estimator, it wins (docs/faces.md, "Which estimator").
DEFAULT_SKIN_MODEL = BUNDLED


def is_landmarks(skin_model: str | os.PathLike | None) -> bool:
    """Whether ``skin_model`` names the landmark estimator (``None`` or ``"landmarks"``)."""
    return skin_model is None or str(skin_model) == LANDMARKS


def is_bundled(skin_model: str | os.PathLike | None) -> bool:
    return skin_model is not None and (str(skin_model) == BUNDLED or str(skin_model).startswith(BUNDLED + ":"))


#: Entry-point group where a matting package registers its loader for network skin estimators: a callable
#: ``(spec, threads) -> (runtime, weights file, label)``. facemat registers ``facemat.skinmodel:load_skin_runtime``;
#: celebamat never imports facemat itself (docs/architecture.md).
MATTING_MODELS_GROUP = "celebamat.matting_models"


def matting_model_loader():
    """The registered loader of matting models (see :data:`MATTING_MODELS_GROUP`)."""
    from importlib.metadata import entry_points

    found = sorted(entry_points(group=MATTING_MODELS_GROUP), key=lambda ep: ep.name)
    if not found:
        raise CelebAMatError(f"a skin_model needs a matting package registered under the entry-point group "
                             f"{MATTING_MODELS_GROUP!r}: install facemat (`pip install -e .` in this repository)")
    return found[0].load()


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
        bundled = is_bundled(path)
        if not bundled and not Path(path).expanduser().is_file():
            raise CelebAMatError(f"skin_model {str(Path(path).expanduser())!r} does not exist; give the path of a "
                                 "FaceMat checkpoint (.safetensors, .pt) or of an exported .onnx, or bundled")
        loader = matting_model_loader()
        try:
            self.runtime, weights, label = loader(str(path), threads=1)
        except ImportError as exc:
            raise CelebAMatError(f"skin_model {path} needs the facemat package and its runtime "
                                 f"({exc.name} is missing)") from exc
        except Exception as exc:  # a wrong or damaged file, an unknown bundled name: say which
            raise CelebAMatError(f"skin_model {path} cannot be loaded as a FaceMat model: {exc}") from exc
        self.path = Path(weights)
        self.size = int(self.runtime.input_size)
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
    """The estimator for ``skin_model`` (``None`` or ``landmarks``: the landmark estimator; ``bundled`` or
    ``bundled:NAME``: a model bundled with facemat; else a checkpoint path), one per process and model (a worker
    loads a checkpoint once, not once per face)."""
    if is_landmarks(skin_model) or is_bundled(skin_model):
        key = (None if is_landmarks(skin_model) else str(skin_model), True, os.getpid())
    else:
        key = (str(Path(skin_model).expanduser().resolve()), False, os.getpid())
    est = _CACHE.get(key)
    if est is None:
        est = LandmarkSkinEstimator() if is_landmarks(skin_model) else ModelSkinEstimator(skin_model)
        _CACHE[key] = est
    return est
