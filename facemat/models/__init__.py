"""FaceMat models: ``create_model("student" | "teacher", **kwargs)``.

``student``: MobileNetV3-Small-style encoder, LR-ASPP, depthwise-separable skip decoder; about 0.9 M
parameters (0.27 GFLOPs at 256 px), real-time on a CPU. ``teacher``: MobileNetV3-Large-style encoder (1.25x wide), full-conv decoder,
alpha and log-scale (uncertainty) heads. Any keyword of :class:`MattingNet` overrides the preset, e.g.
``create_model("student", encoder="mobilenetv2")`` (the bundled model: a MobileNetV2 encoder started from
MODNet's portrait backbone, 2.4 M parameters) or ``create_model("teacher", encoder="timm:resnet34")`` where timm
is installed.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .matting import MattingNet

PRESETS: dict[str, dict[str, Any]] = {
    "student": dict(
        encoder="mobilenetv3_small", width=1.0, context=64, decoder=(48, 32, 24, 16), separable=True,
        decoder_depth=1, uncertainty=False,
    ),
    "teacher": dict(
        encoder="mobilenetv3_large", width=1.25, context=128, decoder=(96, 64, 40, 24), separable=False,
        decoder_depth=2, uncertainty=True,
    ),
}


def model_names() -> list[str]:
    """Names accepted by :func:`create_model`."""
    return sorted(PRESETS)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build a FaceMat model by preset name; ``kwargs`` override the preset's :class:`MattingNet` arguments."""
    if name not in PRESETS:
        raise ValueError(f"unknown model {name!r}; choose one of {model_names()}")
    args = {**PRESETS[name], **kwargs}
    if "decoder" in args:
        args["decoder"] = tuple(args["decoder"])
    return MattingNet(**args)


__all__ = ["MattingNet", "PRESETS", "create_model", "model_names"]
