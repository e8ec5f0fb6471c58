"""Checkpoints in safetensors (no pickle anywhere).

A checkpoint file holds the model's ``state_dict`` under its own keys and, in the header metadata,
``{"facemat": json(config)}`` where ``config`` has at least ``model`` (a :func:`facemat.models.create_model`
name), ``model_kwargs`` and ``input_size``. A training checkpoint also holds ``extra`` state (optimizer,
scaler, step counters): its tensors under keys starting with ``__extra__/`` and its non-tensor leaves as JSON
in the metadata key ``facemat_extra``. :func:`load_model` ignores ``extra``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

EXTRA_PREFIX = "__extra__/"


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable or lacks the FaceMat metadata."""


def unwrap(model: nn.Module) -> nn.Module:
    """The bare module under DistributedDataParallel / torch.compile wrappers."""
    while hasattr(model, "module") or hasattr(model, "_orig_mod"):
        model = getattr(model, "module", None) or getattr(model, "_orig_mod")
    return model


def _flatten(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor in a nested dict/list by a reference ``{"__tensor__": key}``."""
    if isinstance(obj, torch.Tensor):
        key = f"{EXTRA_PREFIX}{prefix}"
        tensors[key] = obj.detach().cpu().contiguous().clone()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        # Keys may be ints (optimizer state ids): remember their type to restore them exactly.
        return {
            "__dict__": [[k, _flatten(v, f"{prefix}.{k}", tensors)] for k, v in obj.items()],
        }
    if isinstance(obj, (list, tuple)):
        return [_flatten(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} at {prefix!r} in a checkpoint (tensors, dicts, "
                    "lists and JSON scalars only)")


def _unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict) and "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if isinstance(obj, dict) and "__dict__" in obj:
        return {k: _unflatten(v, tensors) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [_unflatten(v, tensors) for v in obj]
    return obj


def save_checkpoint(
    path: str | os.PathLike, model: nn.Module, config: dict[str, Any], extra: dict[str, Any] | None = None
) -> Path:
    """Write ``model``'s weights, ``config`` and optional ``extra`` state to ``path`` atomically.

    ``config`` must be JSON-serialisable and name the model (``model``, ``model_kwargs``, ``input_size``).
    ``extra`` is any nested dict/list of tensors and JSON scalars (e.g. ``optimizer.state_dict()``).
    """
    for key in ("model", "model_kwargs", "input_size"):
        if key not in config:
            raise CheckpointError(f"checkpoint config lacks {key!r}; it needs model, model_kwargs and input_size")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Clone: safetensors refuses tensors that share storage.
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in unwrap(model).state_dict().items()}
    metadata = {"facemat": json.dumps(config, sort_keys=True), "format": "pt"}
    if extra is not None:
        metadata["facemat_extra"] = json.dumps(_flatten(extra, "extra", tensors))
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)  # a crash mid-write never leaves a truncated checkpoint behind
    return path


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any] | None]:
    """Return ``(model_state, config, extra)`` from a checkpoint (``extra`` is None when absent)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as err:  # safetensors raises its own error types
        raise CheckpointError(f"cannot read checkpoint {path}: {err}") from err
    if "facemat" not in metadata:
        raise CheckpointError(f"{path} is a safetensors file without FaceMat metadata (key 'facemat')")
    config = json.loads(metadata["facemat"])
    extra_tensors = {k: v for k, v in tensors.items() if k.startswith(EXTRA_PREFIX)}
    state = {k: v for k, v in tensors.items() if not k.startswith(EXTRA_PREFIX)}
    extra = _unflatten(json.loads(metadata["facemat_extra"]), extra_tensors) if "facemat_extra" in metadata else None
    return state, config, extra


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model a checkpoint names, load its weights; returns ``(model in eval mode, config)``."""
    from .models import create_model

    state, config, _ = read_checkpoint(path)
    model = create_model(config["model"], **config.get("model_kwargs", {}))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"checkpoint {path} does not match model {config['model']!r}: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    return model.to(device).eval(), config
