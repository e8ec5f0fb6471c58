"""ImageNet-pretrained weights for the MobileNetV3 encoders, read from files in timm's layout (no timm needed).

timm publishes MobileNetV3 weights (for example ``timm/mobilenetv3_large_100.ra_in1k`` and
``timm/mobilenetv3_small_100.lamb_in1k`` on the Hugging Face Hub) as plain state dicts whose names follow its
module tree: ``conv_stem``, ``bn1``, ``blocks.<stage>.<index>.<layer>``, ``conv_head``, ``classifier``. FaceMat's
:class:`~facemat.models.encoder.MobileNetV3Encoder` has the same layers under other names; this module maps every
encoder tensor to its timm name and copies it, with a strict check:

- every encoder tensor must be found in the file, with the same shape (a width other than 1.0 does not match
  the ``_100`` weights: the error names the tensor and both shapes);
- every tensor of the file must either be used or belong to the classification head that the encoder does not
  have (the last 1x1 conv block, ``conv_head``, ``classifier``); anything else is an error naming it.

Sources (``encoder_weights`` in a training recipe): ``hf-hub:<repo id>`` (downloaded once with
``huggingface_hub`` into its cache; ``model.safetensors``, else ``pytorch_model.bin``), or a local
``.safetensors`` / ``.pth`` / ``.pt`` / ``.bin`` file. The MobileNetV2 encoder takes ONNX weights instead
(:mod:`facemat.models.portrait_weights`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import PretrainedWeightsError  # noqa: F401 (public here)
from . import portrait_weights
from .encoder import STAGES, MobileNetV2Encoder, MobileNetV3Encoder

HUB_PREFIX = "hf-hub:"
HUB_FILES = ("model.safetensors", "pytorch_model.bin")
BN_SUFFIXES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


@dataclass(frozen=True)
class LoadedWeights:
    """What was loaded: the source as given, the file read, its SHA-256, tensors copied and head tensors left."""

    source: str
    file: str
    sha256: str
    copied: int
    unused_head: int


def resolve_source(source: str) -> Path:
    """A local weights file for ``source`` (``hf-hub:<repo id>`` is downloaded through huggingface_hub)."""
    if source.startswith(HUB_PREFIX):
        repo = source.removeprefix(HUB_PREFIX)
        from huggingface_hub import hf_hub_download

        last: Exception | None = None
        for name in HUB_FILES:
            try:
                return Path(hf_hub_download(repo, name))
            except Exception as err:  # EntryNotFound, offline, auth: try the next file, then report
                last = err
        raise PretrainedWeightsError(
            f"cannot download {' or '.join(HUB_FILES)} of {repo!r} from the Hugging Face Hub ({last}); without "
            "internet, download the file elsewhere and set encoder_weights to its local path"
        )
    path = Path(source)
    if not path.is_file():
        raise PretrainedWeightsError(f"encoder weights file {path} does not exist (give a .safetensors or .pth file "
                                     f"or {HUB_PREFIX}<repo id>; for encoder mobilenetv2, an .onnx file or "
                                     "modnet-portrait)")
    return path


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``.safetensors`` file or a torch pickle (``weights_only``; a ``state_dict`` / ``model``
    entry is unwrapped)."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise PretrainedWeightsError(f"cannot read encoder weights {path}: {err}") from err
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise PretrainedWeightsError(f"{path} does not hold a state dict of tensors")
    return obj


def _conv_bn(ours: str, conv: str, bn: str) -> dict[str, str]:
    """Names of a ConvBNAct (``ours.0`` conv, ``ours.1`` batch norm) -> timm's ``conv`` and ``bn``."""
    out = {f"{ours}.0.weight": f"{conv}.weight"}
    out.update({f"{ours}.1.{s}": f"{bn}.{s}" for s in BN_SUFFIXES})
    return out


def timm_names(encoder: MobileNetV3Encoder) -> dict[str, str]:
    """Our encoder's state-dict key -> the timm key of the same tensor, for every encoder tensor."""
    names = _conv_bn("stem", "conv_stem", "bn1")
    stages = STAGES[encoder.arch]
    positions = [(s, j) for s, n in enumerate(stages) for j in range(n)]
    for i, block in enumerate(encoder.blocks):
        s, j = positions[i]
        ours, theirs = f"blocks.{i}.body", f"blocks.{s}.{j}"
        layers = list(block.body)
        k = 0
        if block.expanded:  # inverted residual: expand, depthwise, (SE), project
            names.update(_conv_bn(f"{ours}.0", f"{theirs}.conv_pw", f"{theirs}.bn1"))
            names.update(_conv_bn(f"{ours}.1", f"{theirs}.conv_dw", f"{theirs}.bn2"))
            k, proj = 2, ("conv_pwl", "bn3")
        else:  # depthwise-separable: depthwise, (SE), project
            names.update(_conv_bn(f"{ours}.0", f"{theirs}.conv_dw", f"{theirs}.bn1"))
            k, proj = 1, ("conv_pw", "bn2")
        if len(layers) == k + 2:  # squeeze-excite
            for part in ("reduce", "expand"):
                for p in ("weight", "bias"):
                    names[f"{ours}.{k}.{part}.{p}"] = f"{theirs}.se.conv_{part}.{p}"
            k += 1
        names.update(_conv_bn(f"{ours}.{k}", f"{theirs}.{proj[0]}", f"{theirs}.{proj[1]}"))
    return names


def _is_head(key: str, last_stage: int) -> bool:
    """timm tensors the encoder has no home for: the final 1x1 conv block, ``conv_head``, ``classifier``."""
    return key.startswith((f"blocks.{last_stage}.", "conv_head.", "classifier."))


def load_timm_weights(encoder: MobileNetV3Encoder, state: dict[str, torch.Tensor]) -> tuple[int, int]:
    """Copy a timm-layout state dict into ``encoder`` (strict check in the module docstring).

    Returns:
        ``(copied, unused_head)``: encoder tensors filled, and head tensors of the file left unused.
    """
    names = timm_names(encoder)
    ours = encoder.state_dict()
    missing = [f"{theirs} (for {k})" for k, theirs in names.items() if theirs not in state]
    if missing:
        raise PretrainedWeightsError(f"{len(missing)} encoder tensor(s) not in the weights, first: {missing[0]}; "
                                     f"is it a timm {encoder.arch}_100 file?")
    last_stage = len(STAGES[encoder.arch])
    used = set(names.values())
    homeless = [k for k in state if k not in used and not _is_head(k, last_stage)]
    if homeless:
        raise PretrainedWeightsError(f"{len(homeless)} tensor(s) of the weights found no home in the {encoder.arch} "
                                     f"encoder, first: {homeless[0]} {tuple(state[homeless[0]].shape)}")
    for k, theirs in names.items():
        if ours[k].shape != state[theirs].shape:
            raise PretrainedWeightsError(
                f"shape of {theirs} {tuple(state[theirs].shape)} does not match encoder tensor {k} "
                f"{tuple(ours[k].shape)}: the {encoder.arch} encoder must have width 1.0 for *_100 weights "
                "(set model_kwargs.width = 1.0)")
    with torch.no_grad():
        for k, theirs in names.items():
            ours[k].copy_(state[theirs].to(ours[k].dtype))
    return len(names), sum(1 for k in state if k not in used)


def load_encoder_weights(model: nn.Module, source: str) -> LoadedWeights:
    """Load ``source`` into ``model.encoder`` (a FaceMat model) or ``model`` (a bare encoder): for a
    :class:`MobileNetV3Encoder`, ``hf-hub:<repo>`` or a file in timm's layout; for a :class:`MobileNetV2Encoder`,
    a named source (``modnet-portrait``, :mod:`facemat.models.portrait_weights`) or an ONNX file."""
    encoder = getattr(model, "encoder", model)
    if isinstance(encoder, MobileNetV2Encoder):
        path = portrait_weights.fetch_named(source) if source in portrait_weights.NAMED else resolve_source(source)
        copied = portrait_weights.load_onnx_mobilenetv2(encoder, path)
        return LoadedWeights(source, str(path), hashlib.sha256(path.read_bytes()).hexdigest(), copied, 0)
    if not isinstance(encoder, MobileNetV3Encoder):
        raise PretrainedWeightsError(f"encoder_weights needs a MobileNetV3 encoder, not {type(encoder).__name__}")
    path = resolve_source(source)
    copied, unused = load_timm_weights(encoder, read_state_dict(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return LoadedWeights(source, str(path), digest, copied, unused)
