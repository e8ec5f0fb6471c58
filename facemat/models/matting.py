"""The FaceMat matting network: encoder -> LR-ASPP context -> skip decoder -> alpha (and uncertainty) heads."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import LRASPP, ConvBNAct, DecoderBlock, upsample_to
from .encoder import build_encoder


class MattingNet(nn.Module):
    """Trimap-free matting network.

    Args:
        encoder: ``mobilenetv3_small`` / ``mobilenetv3_large`` / ``mobilenetv2`` (batch norms folded: start it
            from pretrained weights, :mod:`facemat.models.portrait_weights`) / ``timm:<name>``.
        width: encoder width multiplier (MobileNetV3 encoders only).
        context: LR-ASPP output channels at stride 32.
        decoder: decoder channels at strides 16, 8, 4, 2 (and the last one again at full resolution).
        separable: depthwise-separable decoder convs (cheap) instead of full 3x3.
        decoder_depth: convs per decoder block.
        uncertainty: add the per-pixel log-scale head (teacher).
        in_channels: 3 (RGB), or 4 with the hand-prior channel (:mod:`facemat.handprior`).

    ``forward(x)``: x ``(B, in_channels, H, W)`` float in [0, 1], H and W multiples of 32. Returns
    ``{"alpha": (B, 1, H, W) in [0, 1]}`` plus ``"log_scale": (B, 1, H, W)`` (natural log of the predicted
    Laplace/Gaussian scale, soft-clamped to [-8, 2]) when ``uncertainty``.
    """

    def __init__(
        self,
        encoder: str = "mobilenetv3_small",
        width: float = 1.0,
        context: int = 64,
        decoder: tuple[int, ...] | list[int] = (48, 32, 24, 16),
        separable: bool = True,
        decoder_depth: int = 1,
        uncertainty: bool = False,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        if len(decoder) != 4:
            raise ValueError(f"decoder needs 4 channel counts (strides 16, 8, 4, 2), got {list(decoder)}")
        self.in_channels = int(in_channels)
        self.encoder = build_encoder(encoder, width, self.in_channels)
        c2, c4, c8, c16, c32 = self.encoder.channels
        self.context = LRASPP(c32, context)
        d16, d8, d4, d2 = decoder
        self.up16 = DecoderBlock(context, c16, d16, separable, decoder_depth)
        self.up8 = DecoderBlock(d16, c8, d8, separable, decoder_depth)
        self.up4 = DecoderBlock(d8, c4, d4, separable, decoder_depth)
        self.up2 = DecoderBlock(d4, c2, d2, separable, decoder_depth)
        # Full resolution: the image itself is the skip, so thin occluder edges can be recovered. Always
        # depthwise-separable: a full 3x3 conv here would cost more than the whole student encoder.
        self.up1 = DecoderBlock(d2, self.in_channels, d2, True, 1)
        self.uncertainty = uncertainty
        self.head = nn.Conv2d(d2, 2 if uncertainty else 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        f2, f4, f8, f16, f32 = self.encoder(x)
        y = self.context(f32)
        y = self.up16(y, f16)
        y = self.up8(y, f8)
        y = self.up4(y, f4)
        y = self.up2(y, f2)
        y = self.up1(y, x)
        out = self.head(y)
        result = {"alpha": torch.sigmoid(out[:, :1])}
        if self.uncertainty:
            # Soft clamp keeps exp(log_scale) finite and the NLL well-conditioned early in training.
            result["log_scale"] = -3.0 + 5.0 * torch.tanh((out[:, 1:2] + 3.0) / 5.0)
        return result


__all__ = ["MattingNet", "ConvBNAct", "upsample_to"]
