"""Building blocks of the FaceMat networks: MobileNetV3-style inverted residuals, LR-ASPP context, decoder.

Every block uses only ops that export cleanly to ONNX (conv, batch norm, ReLU / hard-swish / hard-sigmoid,
global average pooling, bilinear resize): no data-dependent control flow.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor`` without dropping more than 10 % (MobileNet rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def activation(name: str) -> nn.Module:
    """``relu``, ``hswish`` or ``identity``."""
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "hswish":
        return nn.Hardswish(inplace=True)
    if name == "identity":
        return nn.Identity()
    raise ValueError(f"unknown activation {name!r}; use 'relu', 'hswish' or 'identity'")


class ConvBNAct(nn.Sequential):
    """Conv (no bias) -> BatchNorm -> activation, 'same' padding for odd kernels."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int = 3,
        stride: int = 1,
        groups: int = 1,
        act: str = "relu",
        dilation: int = 1,
    ) -> None:
        pad = (kernel - 1) // 2 * dilation
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, pad, dilation=dilation, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            activation(act),
        )


class SqueezeExcite(nn.Module):
    """Channel attention: global pool -> 1x1 reduce (ReLU) -> 1x1 expand -> hard-sigmoid gate."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = make_divisible(channels / reduction)
        self.reduce = nn.Conv2d(channels, hidden, 1)
        self.expand = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        s = self.expand(F.relu(self.reduce(s)))
        return x * F.hardsigmoid(s)


@dataclass(frozen=True)
class BlockSpec:
    """One inverted-residual stage row: kernel, expansion channels, output channels, SE, activation, stride."""

    kernel: int
    expand: int
    out: int
    se: bool
    act: str
    stride: int


class InvertedResidual(nn.Module):
    """MobileNetV3 bneck: 1x1 expand -> depthwise kxk -> (SE) -> 1x1 project, residual when shapes match."""

    def __init__(self, cin: int, spec: BlockSpec, width: float = 1.0) -> None:
        super().__init__()
        expand = make_divisible(spec.expand * width)
        cout = make_divisible(spec.out * width)
        layers: list[nn.Module] = []
        #: Whether the block opens with a 1x1 expansion (else it is depthwise-separable).
        self.expanded = expand != cin
        if self.expanded:
            layers.append(ConvBNAct(cin, expand, 1, act=spec.act))
        layers.append(ConvBNAct(expand, expand, spec.kernel, spec.stride, groups=expand, act=spec.act))
        if spec.se:
            layers.append(SqueezeExcite(expand))
        layers.append(ConvBNAct(expand, cout, 1, act="identity"))
        self.body = nn.Sequential(*layers)
        self.residual = spec.stride == 1 and cin == cout
        self.out_channels = cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class LRASPP(nn.Module):
    """Lite R-ASPP context head: a 1x1 conv branch gated by a global-pooled sigmoid branch."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.branch = ConvBNAct(cin, cout, 1, act="relu")
        self.gate = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.branch(x) * torch.sigmoid(self.gate(F.adaptive_avg_pool2d(x, 1)))


def upsample_to(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Bilinear resize of ``x`` to the spatial size of ``ref`` (align_corners=False, ONNX Resize)."""
    return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)


class DecoderBlock(nn.Module):
    """Upsample the coarser map, concatenate the skip, fuse.

    ``separable=True`` fuses with depthwise 3x3 + pointwise 1x1 (cheap, for the student); otherwise with
    ``depth`` full 3x3 convs (for the teacher).
    """

    def __init__(self, cin: int, cskip: int, cout: int, separable: bool = True, depth: int = 1) -> None:
        super().__init__()
        c = cin + cskip
        layers: list[nn.Module] = []
        for i in range(depth):
            if separable:
                layers += [ConvBNAct(c, c, 3, groups=c), ConvBNAct(c, cout, 1)]
            else:
                layers.append(ConvBNAct(c, cout, 3))
            c = cout
        self.fuse = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.fuse(torch.cat([upsample_to(x, skip), skip], dim=1))
