"""Train-time augmentation in pure torch, driven by an explicit ``torch.Generator``.

Geometry (flip, affine) is applied identically to image and alpha with one drawn transform; photometric
changes (colour, side light, blur, noise, JPEG) touch the image only, since they do not move skin or occluders.
Inputs and outputs: image ``(3, H, W)`` float in [0, 1], alpha ``(1, H, W)`` float in [0, 1].
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F


def _u(gen: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * torch.rand((), generator=gen).item()


def _p(gen: torch.Generator, prob: float) -> bool:
    return prob > 0 and torch.rand((), generator=gen).item() < prob


def resize_pair(image: torch.Tensor, alpha: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Antialiased bilinear resize of both to ``size x size`` (no-op when already that size)."""
    if image.shape[-2:] == (size, size):
        return image, alpha
    both = torch.cat([image, alpha], 0)[None]
    both = F.interpolate(both, size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]
    return both[:3].clamp(0, 1), both[3:].clamp(0, 1)


def random_affine(
    image: torch.Tensor, alpha: torch.Tensor, gen: torch.Generator, cfg: dict[str, Any]
) -> tuple[torch.Tensor, torch.Tensor]:
    """One random rotation/scale/translation applied to both; outside the source is black with alpha 0."""
    angle = math.radians(_u(gen, -cfg["rotate"], cfg["rotate"]))
    scale = _u(gen, *cfg["scale"])
    tx, ty = (_u(gen, -cfg["translate"], cfg["translate"]) * 2 for _ in range(2))  # grid units span 2
    # affine_grid maps output coords to input coords: inverse of "rotate by angle, scale, then shift".
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    theta = torch.tensor([[cos, -sin, -tx], [sin, cos, -ty]], dtype=image.dtype)[None]
    both = torch.cat([image, alpha], 0)[None]
    grid = F.affine_grid(theta, list(both.shape), align_corners=False)
    out = F.grid_sample(both, grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0]
    return out[:3], out[3:]


def color_jitter(image: torch.Tensor, gen: torch.Generator, cfg: dict[str, Any]) -> torch.Tensor:
    """Brightness, contrast, saturation and hue (rotation of the chroma plane in YIQ), in random order."""
    ops = torch.randperm(4, generator=gen).tolist()
    gray_w = torch.tensor([0.299, 0.587, 0.114], dtype=image.dtype).view(3, 1, 1)
    for op in ops:
        if op == 0:
            image = image * _u(gen, 1 - cfg["brightness"], 1 + cfg["brightness"])
        elif op == 1:
            mean = (image * gray_w).sum(0).mean()
            image = (image - mean) * _u(gen, 1 - cfg["contrast"], 1 + cfg["contrast"]) + mean
        elif op == 2:
            gray = (image * gray_w).sum(0, keepdim=True)
            image = (image - gray) * _u(gen, 1 - cfg["saturation"], 1 + cfg["saturation"]) + gray
        else:
            turn = _u(gen, -cfg["hue"], cfg["hue"]) * 2 * math.pi
            to_yiq = torch.tensor(
                [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=image.dtype
            )
            c, s = math.cos(turn), math.sin(turn)
            rot = torch.tensor([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=image.dtype)
            m = torch.linalg.inv(to_yiq) @ rot @ to_yiq
            image = torch.einsum("ij,jhw->ihw", m, image)
        image = image.clamp(0, 1)
    return image


def sample_side_light(gen: torch.Generator, cfg: dict[str, Any]) -> dict[str, Any]:
    """Draw the parameters of :func:`side_light` from ``cfg`` (``side_light_*`` keys)."""
    return {
        "angle": _u(gen, 0.0, 2 * math.pi),
        "offset": _u(gen, -0.5, 0.5),
        "width": _u(gen, *cfg["side_light_width"]),
        "strength": _u(gen, *cfg["side_light_strength"]),
        "tint": [_u(gen, -cfg["side_light_tint"], cfg["side_light_tint"]) for _ in range(3)],
    }


def side_light(
    image: torch.Tensor, angle: float, offset: float, width: float, strength: float, tint: list[float]
) -> torch.Tensor:
    """Light falling across the frame from one side: a soft terminator, shade beyond it, a tint before it.

    ``image (3, H, W)`` in [0, 1]. Along the direction ``angle`` (radians; positions run -1..1 across the
    frame) the gain falls smoothly from 1 to ``1 - strength`` over a ramp of ``width`` centred at ``offset``;
    the lit side is tinted by ``1 + tint`` per channel (``tint`` made mean-free so it changes hue, not light).
    A photo of a face lit from one side (sky, window) has exactly this shade over skin and occluders alike,
    so it is applied to the whole image and never to the alpha.
    """
    _, h, w = image.shape
    ys = torch.linspace(-1, 1, h, dtype=image.dtype).view(h, 1)
    xs = torch.linspace(-1, 1, w, dtype=image.dtype).view(1, w)
    along = math.cos(angle) * xs + math.sin(angle) * ys
    shade = torch.sigmoid((along - offset) / max(width, 1e-3) * 4)  # 0 lit .. 1 shaded, 4: ~ramp spans width
    t = torch.tensor(tint, dtype=image.dtype)
    t = (t - t.mean()).view(3, 1, 1)
    gain = (1 - strength * shade) * (1 + t * (1 - shade))
    return (image * gain).clamp(0, 1)


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur, reflect padding; ``image (C, H, W)``."""
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=image.dtype)
    k = torch.exp(-(x**2) / (2 * sigma**2))
    k = k / k.sum()
    c = image.shape[0]
    y = F.pad(image[None], (radius, radius, radius, radius), mode="reflect")
    y = F.conv2d(y, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    y = F.conv2d(y, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return y[0]


_LUMA_Q = torch.tensor(
    [
        [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55], [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62], [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=torch.float32,
)
_CHROMA_Q = torch.full((8, 8), 99.0)
_CHROMA_Q[:4, :4] = torch.tensor([[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]])


def _dct_matrix(n: int = 8) -> torch.Tensor:
    k = torch.arange(n, dtype=torch.float32)
    m = torch.cos(math.pi * (2 * k[None] + 1) * k[:, None] / (2 * n)) * math.sqrt(2 / n)
    m[0] /= math.sqrt(2)
    return m


_DCT = _dct_matrix()


def jpeg_like(image: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG quantisation artefacts in torch: YCbCr, 8x8 DCT, IJG tables scaled by ``quality``, inverse.

    (No chroma subsampling or entropy coding, which add no artefacts of their own.) H and W must be
    multiples of 8.
    """
    _, h, w = image.shape
    if h % 8 or w % 8:
        raise ValueError(f"jpeg_like needs H and W multiples of 8, got {h}x{w}")
    q = max(1, min(100, int(quality)))
    scale = 5000 / q if q < 50 else 200 - 2 * q
    tables = [((t * scale + 50) // 100).clamp(min=1) for t in (_LUMA_Q, _CHROMA_Q, _CHROMA_Q)]
    to_ycc = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
    ycc = torch.einsum("ij,jhw->ihw", to_ycc, image.float() * 255)
    ycc[0] -= 128
    blocks = ycc.reshape(3, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4)  # (3, bh, bw, 8, 8)
    coef = _DCT @ blocks @ _DCT.T
    qt = torch.stack(tables).view(3, 1, 1, 8, 8)
    coef = torch.round(coef / qt) * qt
    blocks = _DCT.T @ coef @ _DCT
    ycc = blocks.permute(0, 1, 3, 2, 4).reshape(3, h, w)
    ycc[0] += 128
    rgb = torch.einsum("ij,jhw->ihw", torch.linalg.inv(to_ycc), ycc) / 255
    return rgb.clamp(0, 1).to(image.dtype)


def augment_pair(
    image: torch.Tensor, alpha: torch.Tensor, gen: torch.Generator, cfg: dict[str, Any], size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Resize to ``size`` and apply the augmentations of ``cfg`` (see ``config.DEFAULTS['augment']``).

    Returns image ``(3, size, size)`` and alpha ``(1, size, size)``, both float in [0, 1].
    """
    image, alpha = resize_pair(image, alpha, size)
    if not cfg.get("enabled", True):
        return image, alpha
    if _p(gen, cfg["flip"]):
        image, alpha = image.flip(-1), alpha.flip(-1)
    if _p(gen, cfg["affine"]):
        image, alpha = random_affine(image, alpha, gen, cfg)
    if _p(gen, cfg["color"]):
        image = color_jitter(image, gen, cfg)
    if _p(gen, cfg.get("side_light", 0.0)):
        image = side_light(image, **sample_side_light(gen, cfg))
    if _p(gen, cfg["blur"]):
        image = gaussian_blur(image, _u(gen, *cfg["blur_sigma"]))
    if _p(gen, cfg["noise"]):
        std = _u(gen, *cfg["noise_std"])
        image = (image + std * torch.randn(image.shape, generator=gen, dtype=image.dtype)).clamp(0, 1)
    if _p(gen, cfg["jpeg"]):
        image = jpeg_like(image, round(_u(gen, *cfg["jpeg_quality"])))
    return image.contiguous(), alpha.clamp(0, 1).contiguous()
