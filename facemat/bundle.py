"""Packaging a training run as a model folder: half-precision weights, ONNX graph, config and model card.

``facemat-bundle RUN`` (and ``facemat-push RUN``) call :func:`bundle_run`; the folder's layout is described in
:mod:`facemat.pretrained`. The half-precision weights are checked against the run's own mattes
(:data:`facemat.pretrained.FP16_MAX_ABS`), and the few tensors whose rounding would move them stay float32
(:mod:`facemat.halfpack`); the card says what the weights were trained on and under which terms.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .card import load_scores, model_card, training_sources
from .halfpack import PrecisionCheck, pack_half
from .pretrained import (
    MODEL_FILES,
    PretrainedError,
    _sha256,
)


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


def _card_info(card_info: str | os.PathLike | dict[str, Any] | None) -> dict[str, Any]:
    """``--card-info``: a JSON file's fields, or the dict given."""
    if isinstance(card_info, (str, os.PathLike)):
        try:
            return json.loads(Path(card_info).read_text())
        except (OSError, ValueError) as exc:
            raise PretrainedError(f"--card-info {card_info}: cannot read it as JSON ({exc})") from exc
    return dict(card_info or {})


def _pack(state: dict[str, Any], config: dict[str, Any], dtype: str):
    """The weights as they will be stored (half precision, with float32 where it would move the mattes, or
    float32), loaded into a network; the check of their mattes against the run's (``None`` for float32); and
    the names of the tensors kept in float32 in a half-precision bundle. Raises when half precision moves the
    mattes too much whatever is kept (:func:`facemat.halfpack.pack_half`)."""
    from .models import create_model

    reference = create_model(config["model"], **config.get("model_kwargs", {}))
    reference.load_state_dict(state, strict=True)
    check, kept = None, ()
    if dtype == "float16":
        half = pack_half(reference, state, int(config.get("input_size", 256)))
        packed_state, check, kept = half.state, half.check, half.float32_names
    else:
        packed_state = {k: v.contiguous() for k, v in state.items()}
    packed = create_model(config["model"], **config.get("model_kwargs", {}))
    packed.load_state_dict(packed_state, strict=True)  # widened to float32: what every loader of the file does
    return packed, packed_state, check, kept


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
        dtype: ``"float16"`` (default; the tensors whose rounding would move the mattes by more than
            :data:`FP16_MAX_ABS` max or :data:`FP16_MEAN_ABS` mean stay float32, :func:`facemat.halfpack.pack_half`)
            or ``"float32"``.
        commit: the code commit named in the card (default: this source tree's ``git rev-parse HEAD``).
        onnx: also write ``model.onnx`` (checked against torch).

    Returns:
        A :class:`BundleResult`.
    """
    from .checkpoint import read_checkpoint
    from .export import check_onnx, export_onnx

    if dtype not in ("float16", "float32"):
        raise PretrainedError(f"--dtype must be float16 or float32, got {dtype!r}")
    ckpt = run_checkpoint(run)
    run_dir = ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent
    state, config, _ = read_checkpoint(ckpt)
    out = Path(out_dir)
    name = name or out.resolve().name
    docs = load_scores(list(scores or []))
    info = _card_info(card_info)
    packed, packed_state, check, kept = _pack(state, config, dtype)
    size = int(config.get("input_size", 256))

    model_config = {
        "library": "facemat",
        "model": config["model"],
        "model_kwargs": config.get("model_kwargs", {}),
        "input_size": size,
        "role": config.get("role", ""),
        "dtype": dtype,
        "float32_tensors": list(kept),
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
                          dtype, check, onnx_diff, kept)
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
