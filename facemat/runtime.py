"""Inference runtimes: one call signature for a torch model and for an exported ONNX graph.

A runtime maps a batch of aligned face crops to the model's outputs::

    runtime(batch)  # batch (B, 3, S, S) float32 in [0, 1]  ->  {"alpha": (B, 1, S, S), ["log_scale": ...]}

(``runtime(batch, hand_pads=...)`` chooses the hand landmarker's passes for a model with the hand prior,
:func:`facemat.handprior.hand_prior_mask`.)

so that :mod:`facemat.predict` does not care which engine runs the network. Open one with
:func:`load_runtime`; a ``.onnx`` file selects ONNX Runtime, any other checkpoint torch. Without a checkpoint it
opens the bundled model, and ``hf-hub:USER/NAME`` a published one (:mod:`facemat.pretrained`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import RuntimeSetupError  # noqa: F401 (public here: the runtime's error)
from .export import ONNX_CONFIG_KEY  # written by the exporter, read here

RUNTIMES = ("torch", "onnx")


class Runtime(Protocol):
    """What :class:`facemat.predict.Predictor` needs from an inference engine."""

    #: Square side of the aligned crop the model expects (pixels).
    input_size: int
    #: The checkpoint config (``model``, ``model_kwargs``, ``input_size``, ...).
    config: dict[str, Any]
    #: ``True`` when the network also returns ``log_scale`` (decided from the network, not its name).
    has_uncertainty: bool

    def __call__(self, batch: np.ndarray, hand_pads: Sequence[float] | None = None) -> dict[str, np.ndarray]: ...


def _check_batch(batch: np.ndarray, size: int) -> np.ndarray:
    x = np.ascontiguousarray(batch, dtype=np.float32)
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"batch must have shape (B, 3, H, W), got {x.shape}")
    if x.shape[2] % 32 or x.shape[3] % 32:
        raise ValueError(f"batch height and width must be multiples of 32, got {x.shape[2:]} (input_size={size})")
    return x


def _with_prior(x: np.ndarray, config: dict[str, Any], hand_pads: Sequence[float] | None) -> np.ndarray:
    """Append the hand-prior channel when the checkpoint was trained with it (callers pass RGB only)."""
    from .handprior import uses_hand_prior, with_hand_prior

    return with_hand_prior(x, hand_pads) if uses_hand_prior(config) else x


def model_has_uncertainty(model: Any) -> bool:
    """Whether a torch model returns ``log_scale``: its ``uncertainty`` flag where it declares one (FaceMat's
    :class:`~facemat.models.MattingNet`), else the keys of one forward pass on a ``(1, 3, 64, 64)`` zero batch."""
    flag = getattr(model, "uncertainty", None)
    if isinstance(flag, bool):
        return flag
    import torch

    param = next(iter(model.parameters()), None)
    x = torch.zeros(1, 3, 64, 64, device=param.device if param is not None else "cpu")
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            out = model(x)
    finally:
        model.train(was_training)
    return isinstance(out, dict) and "log_scale" in out


class TorchRuntime:
    """Runs a ``facemat`` model with torch (CPU or CUDA), in inference mode."""

    #: Which model this is (:class:`facemat.pretrained.ModelRef`), set by :func:`load_runtime`.
    model_ref: Any = None

    def __init__(self, model: Any, config: dict[str, Any], device: str = "cpu") -> None:
        import torch

        self._torch = torch
        self.model = model.to(device).eval()
        self.device = device
        self.config = dict(config)
        self.input_size = int(config.get("input_size", 256))
        # Decided by the network, never by its name: a student may carry an uncertainty head, and a teacher
        # built without one must not report (and write) an all-black uncertainty map.
        self.has_uncertainty = model_has_uncertainty(model)

    def __call__(self, batch: np.ndarray, hand_pads: Sequence[float] | None = None) -> dict[str, np.ndarray]:
        x = _with_prior(_check_batch(batch, self.input_size), self.config, hand_pads)
        with self._torch.inference_mode():
            out = self.model(self._torch.from_numpy(x).to(self.device))
        return {k: v.float().cpu().numpy() for k, v in out.items() if k in ("alpha", "log_scale")}


class OnnxRuntime:
    """Runs an ONNX graph written by :func:`facemat.export.export_onnx` with ONNX Runtime (CPU by default).

    Args:
        path: the ``.onnx`` file.
        threads: intra-op threads (default: ONNX Runtime's choice, one per physical core).
        providers: ONNX Runtime execution providers (default CPU).
        spin: let idle worker threads spin-wait (lower latency on an otherwise idle machine only).
    """

    #: Which model this is (:class:`facemat.pretrained.ModelRef`), set by :func:`load_runtime`.
    model_ref: Any = None

    def __init__(self, path: str | os.PathLike, threads: int | None = None, providers: list[str] | None = None,
                 spin: bool = False) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        if not self.path.is_file():
            raise RuntimeSetupError(f"ONNX file {self.path} does not exist; write one with `facemat-export --onnx`")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = int(threads)
        # One frame at a time: inter-op parallelism only adds scheduling overhead on a few cores.
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Spin-waiting worker threads steal the cores that the face mesh, video decoding and other processes
        # need: on 2 shared cores it cut the student's 256 px speed from about 55 to 25 FPS. Off unless asked.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        self.session = ort.InferenceSession(
            str(self.path), sess_options=opts, providers=providers or ["CPUExecutionProvider"]
        )
        meta = self.session.get_modelmeta().custom_metadata_map
        if ONNX_CONFIG_KEY not in meta:
            raise RuntimeSetupError(
                f"{self.path} has no '{ONNX_CONFIG_KEY}' metadata entry: it was not written by facemat-export; "
                "export it again with `facemat-export --checkpoint CKPT --onnx OUT.onnx`"
            )
        self.config = json.loads(meta[ONNX_CONFIG_KEY])
        self.input_size = int(self.config.get("input_size", 256))
        self._input = self.session.get_inputs()[0].name
        self._outputs = [o.name for o in self.session.get_outputs()]
        self.has_uncertainty = "log_scale" in self._outputs

    def __call__(self, batch: np.ndarray, hand_pads: Sequence[float] | None = None) -> dict[str, np.ndarray]:
        x = _with_prior(_check_batch(batch, self.input_size), self.config, hand_pads)
        values = self.session.run(self._outputs, {self._input: x})
        return dict(zip(self._outputs, values, strict=True))


def load_runtime(
    checkpoint: str | os.PathLike | None = None,
    runtime: str | None = None,
    device: str = "cpu",
    threads: int | None = None,
) -> Runtime:
    """Open a checkpoint for inference.

    Args:
        checkpoint: a ``facemat`` checkpoint (``.safetensors``), an exported ``.onnx`` file, a model or run folder,
            ``hf-hub:USER/NAME[@REV]`` (a published model), or ``None``/``bundled[:NAME]`` for the bundled model
            (resolved by :func:`facemat.pretrained.resolve_model`).
        runtime: ``"torch"``, ``"onnx"`` or ``None`` (chosen from the file suffix). ``"onnx"`` with a model folder
            uses its ``model.onnx``; with a torch checkpoint file, the ``.onnx`` file next to it (same name),
            exporting it there first if missing.
        device: torch device (torch runtime only).
        threads: inference threads (ONNX Runtime intra-op threads, or torch's process-wide thread count);
            default: the engine's own choice, one per core.

    Returns:
        A :class:`Runtime`; its ``model_ref`` (:class:`facemat.pretrained.ModelRef`) says which model it runs.
    """
    from facemat.pretrained import resolve_model

    ref = resolve_model(checkpoint)
    path = ref.checkpoint
    is_onnx = path.suffix.lower() == ".onnx"
    if runtime is None:
        runtime = "onnx" if is_onnx else "torch"
    if runtime not in RUNTIMES:
        raise RuntimeSetupError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    rt: Any
    if runtime == "torch":
        if is_onnx:
            raise RuntimeSetupError(
                f"{path} is an ONNX graph: run it with --runtime onnx, or pass the .safetensors checkpoint for torch"
            )
        import torch

        from facemat.checkpoint import load_model

        if threads:
            torch.set_num_threads(int(threads))  # process-wide in torch; the CLI owns the process
        model, config = load_model(path, device=device)
        rt = TorchRuntime(model, config, device=device)
    else:
        if ref.onnx is not None:
            path = ref.onnx  # a model folder's own graph (bundled, Hub): never exported again
        elif not is_onnx:
            onnx_path = path.with_suffix(".onnx")
            if not onnx_path.is_file() or onnx_path.stat().st_mtime < path.stat().st_mtime:
                from facemat.export import export_checkpoint

                export_checkpoint(path, onnx_path)
            path = onnx_path
        rt = OnnxRuntime(path, threads=threads)
    rt.model_ref = ref
    return rt


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
    from .pretrained import HUB_PREFIX

    if name is not None and not str(name).startswith(HUB_PREFIX) and not Path(str(name)).exists() \
            and not str(name).startswith("bundled"):
        name = f"bundled:{name}"
    return load_runtime(name, runtime=runtime, device=device, threads=threads)
