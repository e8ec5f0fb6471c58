"""Export a ``facemat`` model to ONNX (and TorchScript) for deployment.

The ONNX graph takes ``image`` ``(B, C, H, W)`` float32 in [0, 1] (C = 3, or 4 for a model trained with the
hand prior, whose fourth channel :class:`facemat.runtime.OnnxRuntime` computes; batch, height and width dynamic;
H and W multiples of 32) and returns ``alpha`` ``(B, 1, H, W)`` in [0, 1], plus ``log_scale`` for a teacher. The
checkpoint config is stored in the graph's metadata under ``"facemat"`` so an ``.onnx`` file is a complete
checkpoint for ``facemat-predict --runtime onnx``.

The legacy TorchScript-based exporter (``dynamo=False``) is used: it needs no extra package (the dynamo
exporter needs ``onnxscript``) and handles every op of the student and teacher.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: Key of the ONNX metadata entry holding the checkpoint config (JSON); :class:`facemat.runtime.OnnxRuntime`
#: reads it back.
ONNX_CONFIG_KEY = "facemat"

#: ONNX opset written by :func:`export_onnx`.
DEFAULT_OPSET = 17

#: Largest |alpha_onnx - alpha_torch| accepted by :func:`check_onnx` (float32 graphs, same weights).
ONNX_ATOL = 1e-4


def _tuple_module(model: Any, names: tuple[str, ...]) -> Any:
    """Wrap a dict-returning model so the exporter sees a tuple of named outputs."""
    import torch

    class TupleOutputs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
            out = self.model(image)
            return tuple(out[n] for n in names)

    return TupleOutputs().eval()


def _output_names(model: Any, size: int) -> tuple[str, ...]:
    import torch

    with torch.inference_mode():
        out = model(torch.zeros(1, _in_channels(model), size, size))
    return tuple(n for n in ("alpha", "log_scale") if n in out)


def export_onnx(
    model: Any,
    path: str | os.PathLike,
    config: dict[str, Any],
    opset: int = DEFAULT_OPSET,
) -> Path:
    """Write ``model`` as an ONNX graph with dynamic batch, height and width.

    Args:
        model: a ``facemat`` model (``forward(x) -> {"alpha", ["log_scale"]}``); moved to CPU, eval mode.
        path: output ``.onnx`` file (written atomically).
        config: checkpoint config; stored in the graph metadata (needs ``input_size``).
        opset: ONNX opset version.

    Returns:
        The path written.
    """
    import onnx
    import torch

    path = Path(path)
    size = int(config.get("input_size", 256))
    model = model.cpu().eval()
    names = _output_names(model, size)
    wrapped = _tuple_module(model, names)
    dynamic = {"image": {0: "batch", 2: "height", 3: "width"}}
    dynamic.update({n: {0: "batch", 2: "height", 3: "width"} for n in names})
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        raw = Path(tmp) / "raw.onnx"
        with warnings.catch_warnings():
            # The legacy exporter announces its own deprecation; it is chosen on purpose (see module doc).
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapped,
                (torch.rand(1, _in_channels(model), size, size),),
                str(raw),
                dynamo=False,
                input_names=["image"],
                output_names=list(names),
                dynamic_axes=dynamic,
                opset_version=opset,
                do_constant_folding=True,
            )
        graph = onnx.load(str(raw))
        entry = graph.metadata_props.add()
        entry.key = ONNX_CONFIG_KEY
        entry.value = json.dumps(config, sort_keys=True)
        graph.producer_name = "facemat"
        onnx.checker.check_model(graph)
        part = Path(tmp) / "out.onnx"
        onnx.save(graph, str(part))
        os.replace(part, path)
    return path


def export_torchscript(model: Any, path: str | os.PathLike, config: dict[str, Any]) -> Path:
    """Write ``model`` traced to TorchScript (``torch.jit.load``-able; returns a tuple ``(alpha[, log_scale])``).

    The config is stored as the extra file ``facemat.json`` inside the archive.
    """
    import torch

    path = Path(path)
    size = int(config.get("input_size", 256))
    model = model.cpu().eval()
    names = _output_names(model, size)
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(_tuple_module(model, names), torch.rand(1, _in_channels(model), size, size))
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {"facemat.json": json.dumps({**config, "outputs": list(names)}, sort_keys=True)}
    with warnings.catch_warnings():
        # torch 2.13 marks TorchScript deprecated; the archive still serves C++/mobile users (ONNX is preferred).
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(traced, str(path), _extra_files=extra)
    return path


@dataclass(frozen=True)
class ExportCheck:
    """Agreement of an exported graph with the torch model on the same random inputs.

    Attributes:
        max_abs_diff: largest |alpha_onnx - alpha_torch| over all pixels and sizes.
        sizes: the input sides compared.
        atol: tolerance the check used.
    """

    max_abs_diff: float
    sizes: tuple[int, ...]
    atol: float

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.atol


def _in_channels(model: Any) -> int:
    """Input channels of a FaceMat network: 3 (RGB) or 4 (RGB and the hand prior)."""
    return int(getattr(model, "in_channels", 3))


def check_onnx(
    model: Any,
    onnx_path: str | os.PathLike,
    sizes: tuple[int, ...] = (256,),
    batch: int = 2,
    seed: int = 0,
    atol: float = ONNX_ATOL,
) -> ExportCheck:
    """Compare ONNX Runtime with torch on random ``(batch, 3, s, s)`` inputs for each side in ``sizes`` (the
    graph itself, through ``onnxruntime``; a hand-prior model gets the same fourth channel on both sides)."""
    import onnxruntime as ort
    import torch

    from facemat.handprior import with_hand_prior

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    rng = np.random.default_rng(seed)
    model = model.cpu().eval()
    worst = 0.0
    for s in sizes:
        x = rng.random((batch, 3, s, s), dtype=np.float32)
        full = with_hand_prior(x) if _in_channels(model) == 4 else x
        with torch.inference_mode():
            ref = model(torch.from_numpy(full))
        got = dict(zip(names, session.run(names, {session.get_inputs()[0].name: full}), strict=True))
        for name, value in got.items():
            worst = max(worst, float(np.abs(value - ref[name].numpy()).max()))
    return ExportCheck(max_abs_diff=worst, sizes=tuple(sizes), atol=atol)


def export_checkpoint(
    checkpoint: str | os.PathLike,
    onnx_path: str | os.PathLike | None = None,
    torchscript_path: str | os.PathLike | None = None,
    verify: bool = True,
) -> dict[str, Any]:
    """Export a checkpoint file; the library function behind ``facemat-export``.

    Args:
        checkpoint: ``.safetensors`` checkpoint written by ``facemat.checkpoint.save_checkpoint``.
        onnx_path: where to write the ONNX graph (``None``: skip).
        torchscript_path: where to write the TorchScript archive (``None``: skip).
        verify: compare ONNX Runtime with torch after export and raise if they disagree beyond
            :data:`ONNX_ATOL`.

    Returns:
        A summary dict: paths written, ``model``, ``input_size`` and, with ``verify``, ``max_abs_diff``.
    """
    from facemat.checkpoint import load_model

    if onnx_path is None and torchscript_path is None:
        raise ValueError("nothing to export: give an ONNX path, a TorchScript path or both")
    model, config = load_model(checkpoint, device="cpu")
    summary: dict[str, Any] = {"checkpoint": str(checkpoint), "model": config.get("model"),
                               "input_size": int(config.get("input_size", 256))}
    if onnx_path is not None:
        summary["onnx"] = str(export_onnx(model, onnx_path, config))
        if verify:
            size = summary["input_size"]
            check = check_onnx(model, onnx_path, sizes=(size,), batch=1)
            summary["max_abs_diff"] = check.max_abs_diff
            if not check.ok:
                raise ValueError(
                    f"ONNX export {onnx_path} disagrees with torch: max |diff| {check.max_abs_diff:.2e} > "
                    f"{check.atol:.0e}; report this with the checkpoint {checkpoint}"
                )
    if torchscript_path is not None:
        summary["torchscript"] = str(export_torchscript(model, torchscript_path, config))
    return summary
