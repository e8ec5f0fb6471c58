"""MobileNetV3-style encoders (plain torch; from scratch or from timm-layout ImageNet weights, see
:mod:`facemat.models.pretrained`), a MobileNetV2 encoder for pretrained ONNX weights
(:mod:`facemat.models.portrait_weights`) and an optional timm backbone."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import BlockSpec, ConvBNAct, InvertedResidual, make_divisible

# Rows follow the MobileNetV3 paper's tables (kernel, expansion, out, SE, activation, stride).
MOBILENETV3_SMALL: tuple[BlockSpec, ...] = (
    BlockSpec(3, 16, 16, True, "relu", 2),
    BlockSpec(3, 72, 24, False, "relu", 2),
    BlockSpec(3, 88, 24, False, "relu", 1),
    BlockSpec(5, 96, 40, True, "hswish", 2),
    BlockSpec(5, 240, 40, True, "hswish", 1),
    BlockSpec(5, 240, 40, True, "hswish", 1),
    BlockSpec(5, 120, 48, True, "hswish", 1),
    BlockSpec(5, 144, 48, True, "hswish", 1),
    BlockSpec(5, 288, 96, True, "hswish", 2),
    BlockSpec(5, 576, 96, True, "hswish", 1),
    BlockSpec(5, 576, 96, True, "hswish", 1),
)

MOBILENETV3_LARGE: tuple[BlockSpec, ...] = (
    BlockSpec(3, 16, 16, False, "relu", 1),
    BlockSpec(3, 64, 24, False, "relu", 2),
    BlockSpec(3, 72, 24, False, "relu", 1),
    BlockSpec(5, 72, 40, True, "relu", 2),
    BlockSpec(5, 120, 40, True, "relu", 1),
    BlockSpec(5, 120, 40, True, "relu", 1),
    BlockSpec(3, 240, 80, False, "hswish", 2),
    BlockSpec(3, 200, 80, False, "hswish", 1),
    BlockSpec(3, 184, 80, False, "hswish", 1),
    BlockSpec(3, 184, 80, False, "hswish", 1),
    BlockSpec(3, 480, 112, True, "hswish", 1),
    BlockSpec(3, 672, 112, True, "hswish", 1),
    BlockSpec(5, 672, 160, True, "hswish", 2),
    BlockSpec(5, 960, 160, True, "hswish", 1),
    BlockSpec(5, 960, 160, True, "hswish", 1),
)

ARCHS = {"mobilenetv3_small": MOBILENETV3_SMALL, "mobilenetv3_large": MOBILENETV3_LARGE}
#: Rows per stage in timm's grouping (``blocks.<stage>.<index>``), for loading its pretrained weights.
STAGES = {"mobilenetv3_small": (1, 2, 3, 2, 3), "mobilenetv3_large": (1, 2, 3, 4, 2, 3)}


class MobileNetV3Encoder(nn.Module):
    """Returns the features at strides 2, 4, 8, 16 and 32 (the last output of each stride).

    Input ``(B, C, H, W)`` in [0, 1] (normalised inside; RGB, then ``in_channels - 3`` mask channels such as
    the hand prior), H and W multiples of 32.
    ``channels`` lists the channel count of each returned feature.
    """

    def __init__(self, arch: str = "mobilenetv3_small", width: float = 1.0, in_channels: int = 3) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"unknown encoder arch {arch!r}; choose one of {sorted(ARCHS)}")
        if in_channels < 3:
            raise ValueError(f"in_channels must be >= 3 (RGB first), got {in_channels}")
        self.arch = arch
        stem = make_divisible(16 * width)
        self.stem = ConvBNAct(in_channels, stem, 3, 2, act="hswish")
        blocks, cin = [], stem
        for spec in ARCHS[arch]:
            block = InvertedResidual(cin, spec, width)
            blocks.append(block)
            cin = block.out_channels
        self.blocks = nn.ModuleList(blocks)
        # The feature at a stride is the output of the last block running at that stride.
        strides, s = [], 2
        for spec in ARCHS[arch]:
            s *= spec.stride
            strides.append(s)
        self._taps = {max(i for i, st in enumerate(strides) if st == target) for target in (4, 8, 16, 32)}
        tapped = [b.out_channels for i, b in enumerate(blocks) if i in self._taps]
        self.channels = [stem, *tapped]
        # ImageNet statistics for RGB; extra channels (masks in [0, 1], e.g. the hand prior) to [-1, 1].
        extra = in_channels - 3
        mean, std = [0.485, 0.456, 0.406] + [0.5] * extra, [0.229, 0.224, 0.225] + [0.5] * extra
        self.register_buffer("mean", torch.tensor(mean).view(1, in_channels, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, in_channels, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem((x - self.mean) / self.std)
        feats = [x]
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self._taps:
                feats.append(x)
        return feats


class TimmEncoder(nn.Module):
    """Any timm ``features_only`` backbone with five reductions (2..32). Optional: needs ``timm`` installed."""

    def __init__(self, name: str, pretrained: bool = False) -> None:
        super().__init__()
        try:
            import timm
        except ImportError as err:  # timm is optional and needs torchvision
            raise ImportError(
                f"encoder 'timm:{name}' needs the optional package timm (pip install timm); "
                "or use encoder='mobilenetv3_small' / 'mobilenetv3_large'"
            ) from err
        self.body = timm.create_model(name, features_only=True, pretrained=pretrained, out_indices=(0, 1, 2, 3, 4))
        self.channels = list(self.body.feature_info.channels())
        cfg = self.body.pretrained_cfg if hasattr(self.body, "pretrained_cfg") else {}
        mean = cfg.get("mean", (0.485, 0.456, 0.406))
        std = cfg.get("std", (0.229, 0.224, 0.225))
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return list(self.body((x - self.mean) / self.std))


#: MobileNetV2 rows (expansion, out channels, repeats, stride of the first), as in the MobileNetV2 paper.
MOBILENETV2: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
)


def _conv_act(cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1,
              act: bool = True) -> nn.Sequential:
    """Conv with bias (a folded batch norm), then ReLU6 unless ``act`` is false."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=True)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class _V2Block(nn.Module):
    """MobileNetV2 inverted residual with its batch norms folded into the convs' biases."""

    def __init__(self, cin: int, expand: int, cout: int, stride: int) -> None:
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [_conv_act(cin, hidden)]
        layers += [_conv_act(hidden, hidden, 3, stride, hidden), _conv_act(hidden, cout, act=False)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class MobileNetV2Encoder(nn.Module):
    """MobileNetV2 (width 1.0) with folded batch norms, meant to start from pretrained weights
    (:func:`facemat.models.portrait_weights.load_onnx_mobilenetv2`): features at strides 2, 4, 8, 16 (16, 24, 32, 96
    channels) and 32 (the 1280-channel head conv). Input ``(B, C, H, W)`` in [0, 1], normalised to [-1, 1]."""

    arch = "mobilenetv2"

    def __init__(self, in_channels: int = 3) -> None:
        super().__init__()
        if in_channels < 3:
            raise ValueError(f"in_channels must be >= 3 (RGB first), got {in_channels}")
        self.stem = _conv_act(in_channels, 32, 3, 2)
        blocks, cin, strides, s = [], 32, [], 2
        for expand, cout, repeats, stride in MOBILENETV2:
            for i in range(repeats):
                blocks.append(_V2Block(cin, expand, cout, stride if i == 0 else 1))
                s *= stride if i == 0 else 1
                strides.append((s, cout))
                cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.head = _conv_act(cin, 1280)
        # The feature at strides 2 to 16 is the last block's at that stride; at 32, the head conv's.
        self._taps = {max(i for i, (st, _) in enumerate(strides) if st == target) for target in (2, 4, 8, 16)}
        self.channels = [strides[i][1] for i in sorted(self._taps)] + [1280]
        self.register_buffer("mean", torch.full((1, in_channels, 1, 1), 0.5), persistent=False)
        self.register_buffer("std", torch.full((1, in_channels, 1, 1), 0.5), persistent=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem((x - self.mean) / self.std)
        feats = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self._taps:
                feats.append(x)
        feats.append(self.head(x))
        return feats


def build_encoder(encoder: str, width: float = 1.0, in_channels: int = 3) -> nn.Module:
    """``mobilenetv3_small``, ``mobilenetv3_large``, ``mobilenetv2`` or ``timm:<model name>`` (RGB only)."""
    if encoder == "mobilenetv2":
        if width != 1.0:
            raise ValueError(f"encoder mobilenetv2 has width 1.0 only (its pretrained weights), got width={width}")
        return MobileNetV2Encoder(in_channels)
    if encoder.startswith("timm:"):
        if in_channels != 3:
            raise ValueError(f"timm encoders take RGB only; in_channels={in_channels} needs a MobileNetV3 encoder")
        return TimmEncoder(encoder.removeprefix("timm:"))
    return MobileNetV3Encoder(encoder, width, in_channels)
