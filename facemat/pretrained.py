"""Pretrained FaceMat models: the bundled student, models published on the Hub, and the packaging of a run.

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

:func:`bundle_run` turns a training run into a model folder (``facemat-bundle``); :mod:`facemat.hub` publishes one
(``facemat-push``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .runtime import RuntimeSetupError

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


class PretrainedError(RuntimeSetupError):
    """A pretrained model that cannot be found, downloaded or packaged; the message says what to do."""


# ----------------------------------------------------------------------------------------------------------
# Finding a model


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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


def load_pretrained(name: str | None = None, runtime: str | None = None, device: str = "cpu",
                    threads: int | None = None):
    """A :class:`facemat.runtime.Runtime` of a pretrained model, ready for :class:`facemat.predict.Predictor`.

    Args:
        name: a bundled name (default :data:`DEFAULT_MODEL`), ``hf-hub:USER/NAME[@REV]``, or a path.
        runtime: ``"torch"`` (default) or ``"onnx"`` (the folder's ``model.onnx``).
        device: torch device (torch only).
        threads: inference threads.

    Returns:
        The runtime; ``runtime.model_ref`` says which model it is (``runtime.model`` is the torch module when
        ``runtime == "torch"``).
    """
    from .runtime import load_runtime

    if name is not None and not str(name).startswith(HUB_PREFIX) and not Path(str(name)).exists() \
            and not str(name).startswith("bundled"):
        name = f"bundled:{name}"
    return load_runtime(name, runtime=runtime, device=device, threads=threads)


# ----------------------------------------------------------------------------------------------------------
# Packaging a run


def run_checkpoint(run: str | os.PathLike) -> Path:
    """The final weights of a run folder (``model.safetensors``), or the checkpoint file itself."""
    p = Path(run)
    if p.is_file():
        return p
    if p.is_dir():
        if (p / "model.safetensors").is_file():
            return p / "model.safetensors"
        last = p / "checkpoints" / "last.safetensors"
        hint = f" (an unfinished run: pass {last} to bundle its last checkpoint)" if last.is_file() else ""
        raise PretrainedError(f"run folder {p} holds no model.safetensors{hint}")
    raise PretrainedError(f"{p} does not exist: pass a run folder of facemat-train or a checkpoint file")


def half_state(state: dict[str, Any]) -> dict[str, Any]:
    """Floating tensors as float16 (integer buffers such as BatchNorm's step counters unchanged)."""
    import torch

    out = {}
    for k, v in state.items():
        if v.is_floating_point():
            if v.numel() and v.abs().max().item() > 65504:
                raise PretrainedError(f"tensor {k} holds values beyond float16's range; bundle with --dtype float32")
            v = v.to(torch.float16)
        out[k] = v.contiguous()
    return out


@dataclass(frozen=True)
class PrecisionCheck:
    """Mattes of the packed weights against the run's float32 weights on the same random crops."""

    max_abs: float
    mean_abs: float
    tolerance: tuple[float, float] = (FP16_MAX_ABS, FP16_MEAN_ABS)

    @property
    def ok(self) -> bool:
        return self.max_abs <= self.tolerance[0] and self.mean_abs <= self.tolerance[1]


def compare_mattes(reference: Any, packed: Any, size: int, batch: int = 4, seed: int = 0) -> PrecisionCheck:
    """Max and mean |alpha difference| of two torch models on ``batch`` random ``size`` px crops (smooth noise,
    so that the crops are not pure noise)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(seed)
    low = torch.from_numpy(rng.random((batch, 3, max(2, size // 16), max(2, size // 16)), dtype=np.float32))
    x = F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    x = (x + 0.05 * torch.from_numpy(rng.standard_normal((batch, 3, size, size), dtype=np.float32))).clamp(0, 1)
    with torch.inference_mode():
        a = reference.eval()(x)["alpha"].float()
        b = packed.eval()(x)["alpha"].float()
    d = (a - b).abs()
    return PrecisionCheck(float(d.max()), float(d.mean()))


def write_safetensors(tensors: dict[str, Any], path: Path, metadata: dict[str, str]) -> None:
    """Save ``tensors`` as safetensors with a header in sorted order, so the same weights give the same bytes.

    safetensors writes its ``__metadata__`` map in hash order, which changes from process to process: two bundles
    of one run would differ and a push would upload them again. The header is rewritten sorted (the data offsets
    are relative to the end of the header, so its length may change; it stays padded to 8 bytes)."""
    import struct

    from safetensors.torch import save

    raw = save(tensors, metadata=metadata)
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.dumps(json.loads(raw[8:8 + n]), sort_keys=True, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    path.write_bytes(struct.pack("<Q", len(header)) + header + raw[8 + n:])


def git_commit(path: Path | None = None) -> str:
    """The commit of the source tree holding ``path`` (default: this package), ``-dirty`` appended when its code
    (``facemat``, ``celebamat``, ``setup.cfg``; not the bundled weights) has uncommitted changes; ``""`` outside a
    git checkout."""
    where = str(path or Path(__file__).resolve().parent)
    try:
        head = subprocess.run(["git", "-C", where, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=20)
        if head.returncode != 0:
            return ""
        # Only the code counts: the bundled weights themselves (rewritten by this very command), docs and tests
        # do not change what a run computes.
        dirty = subprocess.run(["git", "-C", where, "status", "--porcelain", "--untracked-files=no", "--",
                                ":/facemat", ":/celebamat", ":/setup.cfg", ":(top,exclude)facemat/weights"],
                               capture_output=True, text=True, timeout=20)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def _run_root(run: Path, config: dict[str, Any]) -> Path:
    """The folder facemat-train ran in (the config's relative paths start there)."""
    out = config.get("out")
    if out and not Path(out).is_absolute():
        parts = Path(out).parts
        if run.parts[-len(parts):] == parts:
            return Path(*run.parts[: -len(parts)]) if len(run.parts) > len(parts) else Path(".")
    return run.parent


def _find_manifest(data: str, root: Path) -> dict[str, Any] | None:
    for base in (Path(data), root / data):
        m = base / "manifest.json"
        if m.is_file():
            try:
                return json.loads(m.read_text())
            except ValueError:
                return None
    return None


def training_sources(config: dict[str, Any], run: Path | None = None) -> list[dict[str, str]]:
    """What a run was trained on, read from its dataset's ``manifest.json`` where it can be found (the config's
    ``data.path``, relative to the folder the run was made in), else the data path alone.

    Each source: ``name`` (what it is), ``licence`` (its terms, as the dataset says) and ``restrictive``
    (``"yes"`` when research-only, non-commercial or of unknown licence).
    """
    data = str((config.get("data") or {}).get("path", ""))
    root = _run_root(run, config) if run is not None else Path(".")
    manifest = _find_manifest(data, root) if data else None
    if manifest is None:
        return [{"name": f"CelebAMat dataset `{data or '?'}` (its manifest was not found when bundling)",
                 "licence": "unknown", "restrictive": "yes"}]
    faces = manifest.get("faces") or {}
    source = str(faces.get("source", "?"))
    licence = str(faces.get("license", "unknown"))
    kind = source.split(":", 1)[0]
    what = {"celebamask-hq": "CelebAMask-HQ face photos", "folder": "real face photos (a folder)",
            "demo": "the embedded public-domain demo faces"}.get(kind, f"faces `{source}`")
    restrictive = kind != "demo" or any(w in licence.lower() for w in ("research", "non-commercial", "unknown"))
    name = manifest.get("name", data)
    out = [{"name": f"{what}, {faces.get('faces_used', '?')} faces, composited by CelebAMat (dataset `{name}`, "
                    f"{sum((manifest.get('splits') or {}).values())} rows)",
            "licence": licence, "restrictive": "yes" if restrictive else "no"}]
    occ = manifest.get("occluder_library") or {}
    recipe_occ = (manifest.get("recipe") or {}).get("occluders") or {}
    extra = recipe_occ.get("extra_libraries") or []
    occ_licence = "CC0-1.0 (procedurally generated by celebamat)"
    if extra:
        occ_licence += "; imported libraries keep their own licences (each asset's `license`)"
    out.append({"name": f"occluders: {occ.get('assets', '?')} assets (bundled library"
                        + (f" + {len(extra)} imported" if extra else "") + ")",
                "licence": occ_licence, "restrictive": "check" if extra else "no"})
    return out


def weights_terms(sources: list[dict[str, str]]) -> tuple[str, str]:
    """``(Hub license id, plain terms)`` of weights trained on ``sources``: the most restrictive source wins."""
    if any(s.get("restrictive") == "yes" for s in sources):
        return "other", RESEARCH_ONLY
    if any(s.get("restrictive") == "check" for s in sources):
        return "other", "the terms of the imported occluder libraries (check each asset's licence)"
    return "cc0-1.0", "CC0-1.0"


def load_scores(paths: list[str | os.PathLike]) -> list[dict[str, Any]]:
    """Score documents written by ``facemat-eval``: ``--data ... --json`` (a split's means) or ``--benchmark ...
    --out``/``--json`` (``benchmark.json``); a file may also hold a list of them."""
    docs: list[dict[str, Any]] = []
    for p in paths:
        try:
            doc = json.loads(Path(p).read_text())
        except (OSError, ValueError) as exc:
            raise PretrainedError(f"--scores {p}: cannot read it as JSON ({exc})") from exc
        for d in doc if isinstance(doc, list) else [doc]:
            if not isinstance(d, dict) or not ("benchmark" in d and "means" in d or "split" in d and "iou" in d):
                raise PretrainedError(f"--scores {p}: not a facemat-eval result (write one with facemat-eval "
                                      "--data DATA --json OUT.json, or --benchmark KIND:DIR --out DIR)")
            docs.append(d)
    return docs


def short_spec(spec: str) -> str:
    """A data path or benchmark spec without the machine's folders: ``folder:/a/b/c/d`` -> ``folder:.../c/d``."""
    kind, sep, rest = str(spec).rpartition(":") if ":" in str(spec) else ("", "", str(spec))
    parts = Path(rest).parts
    if Path(rest).is_absolute() and len(parts) > 3:
        rest = ".../" + "/".join(parts[-2:])
    return f"{kind}{sep}{rest}"


def _fmt(v: Any, digits: int = 3) -> str:
    return f"{v:.{digits}f}" if isinstance(v, (int, float)) else "-"


def scores_table(docs: list[dict[str, Any]]) -> str:
    """The card's markdown table: one row per evaluation, the model beside each baseline."""
    if not docs:
        return "_No scores were given when this model was bundled._"
    lines = ["| evaluation | data | images | method | IoU@0.5 | Acc@0.5 | Recall@0.5 | SAD/1e3 | MSE x1e3 |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|"]
    for d in docs:
        if "benchmark" in d:
            for method in d.get("methods") or list(d["means"]):
                m = d["means"].get(method, {})
                lines.append(f"| real photos (whole photo) | `{short_spec(d['benchmark'])}` | {d.get('count', '-')} | "
                             f"{method} | {_fmt(m.get('iou'))} | {_fmt(m.get('acc'))} | {_fmt(m.get('recall'))} | "
                             f"{_fmt(m.get('sad'), 2)} | {_fmt(m.get('mse') * 1e3 if 'mse' in m else None, 2)} |")
        else:
            mse = d.get("mse_whole")
            lines.append(f"| synthetic (aligned crops) | `{short_spec(d.get('data', '?'))}` split "
                         f"{d.get('split', '?')} | {d.get('count', '-')} | model | {_fmt(d.get('iou'))} | "
                         f"{_fmt(d.get('acc'))} | {_fmt(d.get('recall'))} | {_fmt(d.get('sad_whole'), 2)} | "
                         f"{_fmt(mse * 1e3 if mse is not None else None, 2)} |")
    return "\n".join(lines)


def _eval_results(docs: list[dict[str, Any]], model_name: str) -> list:
    from huggingface_hub import EvalResult

    out = []
    for d in docs:
        if "benchmark" in d:
            means = d["means"].get((d.get("methods") or [None])[0]) or {}
            name, kind = short_spec(d["benchmark"]), "real-occluded-faces"
        else:
            means, name, kind = d, f"{short_spec(d.get('data', '?'))} ({d.get('split', '?')})", "celebamat-synthetic"
        for metric, hub_name in (("iou", "iou"), ("acc", "accuracy"), ("recall", "recall")):
            if isinstance(means.get(metric), (int, float)):
                out.append(EvalResult(task_type="image-segmentation", task_name="Face matting", dataset_type=kind,
                                      dataset_name=name, metric_type=hub_name, metric_name=f"{hub_name} @0.5",
                                      metric_value=round(float(means[metric]), 4)))
    return out


def model_card(name: str, config: dict[str, Any], sources: list[dict[str, str]], scores: list[dict[str, Any]],
               commit: str, info: dict[str, Any] | None = None, dtype: str = "float16",
               check: PrecisionCheck | None = None, onnx_diff: float | None = None):
    """The model card (:class:`huggingface_hub.ModelCard`): YAML metadata the Hub reads, then the text.

    ``info`` (``--card-info`` JSON) may set: ``description``, ``reproduce`` (the command that retrains the
    weights), ``training_data`` (a list of ``{name, licence, restrictive}`` replacing the sources found),
    ``datasets`` (Hub dataset ids), ``limitations`` and ``intended_use`` (lists of sentences).
    """
    from huggingface_hub import ModelCard, ModelCardData

    info = dict(info or {})
    sources = info.get("training_data") or sources
    license_id, terms = weights_terms(sources)
    data_kwargs: dict[str, Any] = {}
    if license_id == "other":  # the Hub asks a name of any licence it does not list
        data_kwargs["license_name"] = RESEARCH_LICENSE_NAME if terms == RESEARCH_ONLY else "facemat-weights-mixed"
    results = _eval_results(scores, name)
    card_data = ModelCardData(
        license=license_id,
        library_name="facemat",
        pipeline_tag="image-segmentation",
        tags=["face-matting", "matting", "occlusion", "face", "onnx", "safetensors", "facemat"],
        datasets=info.get("datasets") or None,
        metrics=["iou", "accuracy", "recall"],
        model_name=name if results else None,
        eval_results=results or None,
        **data_kwargs,
    )
    role = config.get("role", config.get("model", "model"))
    size = config.get("input_size", "?")
    from .models import PRESETS

    preset = PRESETS.get(str(config.get("model")), {})
    enc = preset.get("encoder", "?")
    desc = info.get("description") or (
        f"A FaceMat {role} ({config.get('model')}: {enc} encoder) that mattes the visible skin of a face on a "
        f"{size} px aligned crop: 1 = visible face skin, 0 = occluders (hands, hair, accessories, objects) and "
        "background. `facemat-predict` finds each face, aligns it, predicts and pastes the matte back.")
    src_lines = "\n".join(f"- {s['name']}: {s['licence']}" for s in sources)
    restrictive = [s["name"] for s in sources if s.get("restrictive") == "yes"]
    if terms == RESEARCH_ONLY:
        why = ("These weights are for **non-commercial research use only**. Weights follow the most restrictive of "
               f"their training sources, and here that is {restrictive[0] if restrictive else 'a source'}: real face "
               "photos (CelebAMask-HQ, public research sets) are non-commercial research data, and a photo of unknown "
               "licence is treated the same. Do not use the weights commercially or redistribute them under other "
               "terms.")
    else:
        why = f"Terms of the weights: {terms} (the most restrictive training source)."
    reproduce = info.get("reproduce") or (
        "facemat-train --recipe RUN/config.toml   # the resolved recipe below, then\n"
        "facemat-bundle RUN --scores SCORES.json")
    limitations = info.get("limitations") or [
        "Trained on composites: real occluders whose look or placement the occluder library lacks can be missed.",
        "Works on faces the face finder locates (YuNet and BlazeFace, then the face mesh); a face not found gets "
        "an empty matte.",
        f"Small input ({size} px crop): thin strands of hair and fine edges are soft.",
        "Real-photo scores come from few photos (see the table): read them as a check, not a ranking.",
        "The weights are stored in half precision and run in float32; mattes differ from the float32 run by at "
        f"most {FP16_MAX_ABS} (checked when bundled).",
    ]
    intended = info.get("intended_use") or [
        "Occlusion-aware face effects and filters (recolouring, make-up, smoothing kept behind hands and objects).",
        "Research on face matting and occlusion; a starting point for fine-tuning (`facemat-train --init-from`).",
        "Not for identifying people, and not for any decision about a person.",
    ]
    recipe = json.dumps(config, indent=2, sort_keys=True)
    check_line = (f"Half-precision mattes vs the float32 run: max |diff| {check.max_abs:.4f}, mean "
                  f"{check.mean_abs:.5f}. " if check is not None else "")
    onnx_line = f"ONNX Runtime vs torch: max |diff| {onnx_diff:.1e}." if onnx_diff is not None else ""
    body = f"""
# {name}

{desc}

## Use

```bash
pip install -e .            # in a clone of FaceMat: this model is bundled
facemat-predict photo.jpg --effect recolor --out out          # the bundled default
facemat-predict photo.jpg --checkpoint hf-hub:USER/{name} --out out   # this model from the Hub
```

```python
import facemat
from facemat.predict import Predictor

predictor = Predictor(facemat.load_pretrained("hf-hub:USER/{name}"))  # or load_pretrained() for the bundled one
result = predictor.predict(rgb)  # rgb (H, W, 3) uint8; result.alpha (H, W) float32 in [0, 1]
```

Files: `model.safetensors` ({dtype} weights; the config in its header), `config.json`, `model.onnx`
(the same weights, float32 graph, dynamic batch and size; `facemat-predict --checkpoint model.onnx`).

## Training data and licences

{src_lines}

{why}

The code (`facemat`, `celebamat`) is Apache-2.0; that licence covers the code only, not these weights.

## Training recipe

Code commit: `{commit or 'unknown'}`. Retrain from scratch and rebuild this folder (scores included):

```bash
{reproduce}
```

Resolved training config:

```json
{recipe}
```

## Scores

{scores_table(scores)}

IoU, accuracy and recall at 0.5 (>= 0.5 is face skin). Real photos are scored on the whole photo through
`facemat-predict`'s path (find, align, predict, paste back) beside `mesh-oval`, the filled face-mesh oval, blind
to occlusion (`facemat-eval --benchmark KIND:DIR --baseline mesh-oval`); synthetic scores on aligned crops of a
CelebAMat test split (`facemat-eval --data`). {check_line}{onnx_line}

## Limitations

{chr(10).join(f'- {x}' for x in limitations)}

## Intended use

{chr(10).join(f'- {x}' for x in intended)}
"""
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n{body}")


@dataclass
class BundleResult:
    """What :func:`bundle_run` wrote: the folder, its files, the checks and the model's SHA-256."""

    folder: Path
    files: list[str]
    sha256: str
    precision: PrecisionCheck | None
    onnx_max_abs_diff: float | None

    def summary(self) -> dict[str, Any]:
        return {"folder": str(self.folder), "files": self.files, "sha256": self.sha256,
                "fp16_max_abs": None if self.precision is None else round(self.precision.max_abs, 6),
                "fp16_mean_abs": None if self.precision is None else round(self.precision.mean_abs, 7),
                "onnx_max_abs_diff": self.onnx_max_abs_diff,
                "size_bytes": sum((self.folder / f).stat().st_size for f in self.files)}


def bundle_run(run: str | os.PathLike, out_dir: str | os.PathLike, name: str | None = None,
               scores: list[str | os.PathLike] | None = None, card_info: str | os.PathLike | dict | None = None,
               dtype: str = "float16", commit: str | None = None, onnx: bool = True) -> BundleResult:
    """Package a training run (or a checkpoint file) as a model folder (see the module doc) in ``out_dir``.

    Args:
        run: a run folder of ``facemat-train`` (its ``model.safetensors``) or a checkpoint file.
        out_dir: the model folder to write; its previous model files are replaced (written to a temporary
            folder beside it first, then moved in, so a failed bundle leaves the old files).
        name: the model's name in the card (default: ``out_dir``'s name).
        scores: ``facemat-eval`` JSON results for the card's table (:func:`load_scores`).
        card_info: JSON file (or dict) of card fields (:func:`model_card`).
        dtype: ``"float16"`` (default; refused when the mattes move by more than :data:`FP16_MAX_ABS` max or
            :data:`FP16_MEAN_ABS` mean) or ``"float32"``.
        commit: the code commit named in the card (default: this source tree's ``git rev-parse HEAD``).
        onnx: also write ``model.onnx`` (checked against torch).

    Returns:
        A :class:`BundleResult`.
    """
    from .checkpoint import read_checkpoint
    from .export import check_onnx, export_onnx
    from .models import create_model

    if dtype not in ("float16", "float32"):
        raise PretrainedError(f"--dtype must be float16 or float32, got {dtype!r}")
    ckpt = run_checkpoint(run)
    run_dir = ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent
    state, config, _ = read_checkpoint(ckpt)
    out = Path(out_dir)
    name = name or out.resolve().name
    docs = load_scores(list(scores or []))
    if isinstance(card_info, (str, os.PathLike)):
        try:
            info = json.loads(Path(card_info).read_text())
        except (OSError, ValueError) as exc:
            raise PretrainedError(f"--card-info {card_info}: cannot read it as JSON ({exc})") from exc
    else:
        info = dict(card_info or {})

    reference = create_model(config["model"], **config.get("model_kwargs", {}))
    reference.load_state_dict(state, strict=True)
    packed_state = half_state(state) if dtype == "float16" else {k: v.contiguous() for k, v in state.items()}
    packed = create_model(config["model"], **config.get("model_kwargs", {}))
    packed.load_state_dict(packed_state, strict=True)  # widened to float32: what every loader of the file does
    size = int(config.get("input_size", 256))
    check = None
    if dtype == "float16":
        check = compare_mattes(reference, packed, size)
        if not check.ok:
            raise PretrainedError(
                f"half-precision weights move the mattes too much (max |diff| {check.max_abs:.4f} > {FP16_MAX_ABS} or "
                f"mean {check.mean_abs:.5f} > {FP16_MEAN_ABS}); bundle with --dtype float32"
            )

    model_config = {
        "library": "facemat",
        "model": config["model"],
        "model_kwargs": config.get("model_kwargs", {}),
        "input_size": size,
        "role": config.get("role", ""),
        "dtype": dtype,
        "commit": commit if commit is not None else git_commit(),
        "source_checkpoint_sha256": _sha256(ckpt),
        "training": config,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        metadata = {"facemat": json.dumps(config, sort_keys=True), "format": "pt", "dtype": dtype}
        write_safetensors(packed_state, tmp / "model.safetensors", metadata)
        (tmp / "config.json").write_text(json.dumps(model_config, indent=2, sort_keys=True) + "\n")
        onnx_diff = None
        if onnx:
            export_onnx(packed, tmp / "model.onnx", config)
            verdict = check_onnx(packed, tmp / "model.onnx", sizes=(size,), batch=1)
            if not verdict.ok:
                raise PretrainedError(f"the ONNX graph disagrees with torch (max |diff| {verdict.max_abs_diff:.2e})")
            onnx_diff = float(f"{verdict.max_abs_diff:.2e}")
        card = model_card(name, config, training_sources(config, run_dir), docs, model_config["commit"], info,
                          dtype, check, onnx_diff)
        card.save(tmp / "README.md")
        files = [f for f in MODEL_FILES if (tmp / f).is_file()]
        out.mkdir(parents=True, exist_ok=True)
        for f in MODEL_FILES:  # a file the new bundle lacks (no --onnx) must not survive from the old one
            if (out / f).exists() and f not in files:
                (out / f).unlink()
        for f in files:
            os.replace(tmp / f, out / f)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return BundleResult(out, files, _sha256(out / "model.safetensors"), check, onnx_diff)
