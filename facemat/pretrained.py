"""Pretrained FaceMat models: the bundled student and models published on the Hub, found by name.

A *model folder* is what ships in the package (``facemat/weights/<name>/``) and what is published on the Hub::

    model.safetensors   weights in half precision; the checkpoint config in the header (``facemat`` key), so
                        every loader of :mod:`facemat.checkpoint` reads it (tensors are widened to float32)
    config.json         the model's config: ``model``, ``model_kwargs``, ``input_size``, the weights' dtype and
                        the resolved training recipe
    model.onnx          the ONNX graph of the same (half-precision) weights, computed in float32
    README.md           the model card (Hub format: YAML metadata, then the text)

Where a command takes ``--checkpoint`` (``facemat-predict``, ``facemat-eval``, ``facemat-export``), and in
:func:`facemat.runtime.load_runtime`, a checkpoint is resolved by :func:`resolve_model`:

- omitted (``None``), ``bundled`` or ``bundled:NAME``: the bundled model (default :data:`DEFAULT_MODEL`);
- ``hf-hub:USER/NAME`` or ``hf-hub:USER/NAME@REVISION``: a published model folder, downloaded into the
  Hugging Face cache (``HF_ENDPOINT``, ``HF_TOKEN`` and ``HF_HUB_OFFLINE`` apply);
- a model folder, a run folder (its ``model.safetensors``) or a file, as before.

Python::

    import facemat
    from facemat.predict import Predictor

    predictor = Predictor(facemat.load_pretrained())   # the bundled student
    result = predictor.predict(rgb)                      # rgb (H, W, 3) uint8

:func:`facemat.runtime.load_pretrained` opens one; :func:`facemat.bundle.bundle_run` turns a training run into a
model folder (``facemat-bundle``); :mod:`facemat.hub` publishes one (``facemat-push``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from celebamat.utils.io import sha256_file

from .errors import PretrainedError, RuntimeSetupError  # noqa: F401 (public here)

#: The folder of bundled model folders inside the package.
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
#: The bundled model used when no checkpoint is given.
DEFAULT_MODEL = "facemat-student-hands"
#: Prefix of a checkpoint given as a Hub repo id.
HUB_PREFIX = "hf-hub:"
#: Files of a model folder; the first one is required.
MODEL_FILES = ("model.safetensors", "config.json", "model.onnx", "README.md")

#: Largest |alpha(float16 weights) - alpha(float32 weights)| accepted by :func:`bundle_run` (random crops).
FP16_MAX_ABS = 0.05
#: Largest mean |alpha difference| accepted by :func:`bundle_run`.
FP16_MEAN_ABS = 2e-3

#: Terms of the weights when any training source is research-only (or of unknown licence).
RESEARCH_ONLY = "research-only, non-commercial"
#: Hub licence metadata of research-only weights (``license: other`` needs a name).
RESEARCH_LICENSE_NAME = "facemat-weights-research-only-noncommercial"


# ----------------------------------------------------------------------------------------------------------
# Finding a model


def _sha256(path: Path) -> str:
    return sha256_file(path)


def list_pretrained() -> list[str]:
    """Names of the bundled models (folders of :data:`WEIGHTS_DIR` holding a ``model.safetensors``)."""
    if not WEIGHTS_DIR.is_dir():
        return []
    return sorted(p.name for p in WEIGHTS_DIR.iterdir() if (p / "model.safetensors").is_file())


def pretrained_dir(name: str | None = None) -> Path:
    """The model folder of the bundled model ``name`` (default :data:`DEFAULT_MODEL`)."""
    name = name or DEFAULT_MODEL
    folder = WEIGHTS_DIR / name
    if not (folder / "model.safetensors").is_file():
        known = ", ".join(list_pretrained()) or "none"
        raise PretrainedError(
            f"no bundled model {name!r} (bundled: {known}); install the package with its weights "
            "(`pip install -e .` in a clone), or pass --checkpoint PATH or hf-hub:USER/NAME"
        )
    return folder


@dataclass(frozen=True)
class ModelRef:
    """A resolved checkpoint.

    Attributes:
        checkpoint: the file to load (``model.safetensors``, a training checkpoint or an ``.onnx``).
        kind: ``"bundled"``, ``"hub"``, ``"folder"`` (a model or run folder) or ``"file"``.
        name: the bundled name, ``USER/NAME[@REV]``, or the path as given.
        folder: the model folder (``None`` for a bare file).
        sha256: SHA-256 of ``checkpoint`` (hex).
    """

    checkpoint: Path
    kind: str
    name: str
    folder: Path | None = None
    sha256: str = field(default="")

    @property
    def onnx(self) -> Path | None:
        """The model folder's ``model.onnx``, or the checkpoint itself when it is one; else ``None``."""
        if self.checkpoint.suffix.lower() == ".onnx":
            return self.checkpoint
        if self.folder is not None and (self.folder / "model.onnx").is_file():
            return self.folder / "model.onnx"
        return None

    @property
    def label(self) -> str:
        """A short name for tables (``facemat-eval --benchmark``): the bundled or repo name, else the folder's."""
        if self.kind in ("bundled", "hub"):
            return self.name.split("@")[0].rsplit("/", 1)[-1]
        return self.checkpoint.parent.name or self.checkpoint.stem

    def describe(self) -> str:
        """What the commands print: ``model: bundled facemat-student-hands (sha256 0123456789ab)``."""
        where = {"bundled": "bundled ", "hub": "hf-hub:"}.get(self.kind, "")
        return f"model: {where}{self.name} (sha256 {self.sha256[:12]})"


def _ref(checkpoint: Path, kind: str, name: str, folder: Path | None) -> ModelRef:
    return ModelRef(checkpoint, kind, name, folder, _sha256(checkpoint))


def parse_hub_spec(spec: str) -> tuple[str, str | None]:
    """``hf-hub:USER/NAME[@REV]`` -> ``(repo_id, revision or None)``."""
    rest = spec[len(HUB_PREFIX):] if spec.startswith(HUB_PREFIX) else spec
    repo_id, _, revision = rest.partition("@")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise PretrainedError(f"{spec!r}: a Hub checkpoint is hf-hub:USER/NAME or hf-hub:USER/NAME@REVISION")
    return repo_id, revision or None


def download_model(repo_id: str, revision: str | None = None, token: str | None = None) -> Path:
    """Download (or find in the Hugging Face cache) the model folder of the Hub repo ``repo_id``."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"hf-hub:{repo_id}" + (f"@{revision}" if revision else "")
    # HF_ENDPOINT is read now, not when huggingface_hub was imported.
    endpoint = (os.environ.get("HF_ENDPOINT") or "").rstrip("/") or None
    try:
        folder = snapshot_download(repo_id, revision=revision, token=token, endpoint=endpoint,
                                   allow_patterns=list(MODEL_FILES))
    except RevisionNotFoundError as exc:
        raise PretrainedError(f"{where}: revision {revision!r} not found") from exc
    except (RepositoryNotFoundError, GatedRepoError) as exc:
        raise PretrainedError(
            f"{where}: model repo not found or not visible to this token; check the name, and for a private repo "
            "pass a token with read access (HF_TOKEN or `hf auth login`)"
        ) from exc
    except LocalEntryNotFoundError as exc:
        offline = isinstance(exc.__cause__, OfflineModeIsEnabled) or "HF_HUB_OFFLINE" in str(exc)
        why = "HF_HUB_OFFLINE is set" if offline else f"the Hub at {endpoint or 'huggingface.co'} cannot be reached"
        raise PretrainedError(
            f"{where} is not in the Hugging Face cache and {why}: download it once while online"
        ) from exc
    except HfHubHTTPError as exc:
        raise PretrainedError(f"{where}: the Hub answered {exc}") from exc
    except OSError as exc:  # transport errors, unwritable cache
        raise PretrainedError(f"{where}: download failed ({type(exc).__name__}: {exc})") from exc
    folder = Path(folder)
    if not (folder / "model.safetensors").is_file():
        raise PretrainedError(f"{where} holds no model.safetensors: is it a model published by facemat-push?")
    return folder


def resolve_model(checkpoint: str | os.PathLike | None = None) -> ModelRef:
    """Resolve a ``--checkpoint`` value (see the module doc) to a :class:`ModelRef`."""
    if checkpoint is None or str(checkpoint) == "":
        folder = pretrained_dir(None)
        return _ref(folder / "model.safetensors", "bundled", DEFAULT_MODEL, folder)
    spec = str(checkpoint)
    if spec == "bundled" or spec.startswith("bundled:"):
        name = spec.partition(":")[2] or DEFAULT_MODEL
        folder = pretrained_dir(name)
        return _ref(folder / "model.safetensors", "bundled", name, folder)
    if spec.startswith(HUB_PREFIX):
        repo_id, revision = parse_hub_spec(spec)
        folder = download_model(repo_id, revision)
        return _ref(folder / "model.safetensors", "hub", spec[len(HUB_PREFIX):], folder)
    path = Path(spec).expanduser()
    if path.is_dir():
        if (path / "model.safetensors").is_file():
            return _ref(path / "model.safetensors", "folder", spec, path)
        if (path / "model.onnx").is_file():
            return _ref(path / "model.onnx", "folder", spec, path)
        raise PretrainedError(f"folder {path} holds no model.safetensors (nor model.onnx): pass a model or run "
                              "folder, or the checkpoint file")
    if not path.is_file():
        raise PretrainedError(f"checkpoint {path} does not exist; pass the file written by facemat-train, a model "
                              "folder, hf-hub:USER/NAME, or nothing for the bundled model")
    return _ref(path, "file", spec, None)
