"""Losses: teacher NLL (Laplace / Gaussian, optional beta-NLL), L1, Laplacian pyramid; student
uncertainty-guided distillation; for both, an optional hole term inside the visible face. Every term is weighted by a config value (0 disables it, for ablations).

All tensors ``(B, 1, H, W)``; alphas in [0, 1]; ``log_scale`` is the natural log of the predicted scale
(Laplace ``b`` or Gaussian ``sigma``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F


def nll_loss(alpha: torch.Tensor, log_scale: torch.Tensor, target: torch.Tensor, dist: str = "laplace",
             beta: float = 0.0) -> torch.Tensor:
    """Mean per-pixel negative log-likelihood of ``target`` under the predicted distribution.

    Laplace: ``|y - mu| / b + log(2b)``; Gaussian: ``(y - mu)^2 / (2 s^2) + log s + log(2 pi) / 2``.
    ``beta > 0`` multiplies each pixel's NLL by ``var^beta`` (detached), the beta-NLL of Seitzer et al., which
    stops the model from buying a low loss by declaring hard pixels uncertain.
    """
    if dist == "laplace":
        nll = (target - alpha).abs() * torch.exp(-log_scale) + log_scale + math.log(2.0)
        var = 2 * torch.exp(2 * log_scale)
    elif dist == "gaussian":
        nll = 0.5 * (target - alpha) ** 2 * torch.exp(-2 * log_scale) + log_scale + 0.5 * math.log(2 * math.pi)
        var = torch.exp(2 * log_scale)
    else:
        raise ValueError(f"unknown NLL distribution {dist!r}; use 'laplace' or 'gaussian'")
    if beta > 0:
        nll = nll * var.detach() ** beta
    return nll.mean()


def _gauss_kernel(channels: int, device, dtype) -> torch.Tensor:
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], device=device, dtype=dtype)
    k = torch.outer(k, k) / 256.0
    return k.expand(channels, 1, 5, 5).contiguous()


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass levels (finest first) plus the low-pass residual: ``levels + 1`` maps."""
    kernel = _gauss_kernel(x.shape[1], x.device, x.dtype)
    bands, current = [], x
    for _ in range(levels):
        if min(current.shape[-2:]) < 4:
            break
        blurred = F.conv2d(F.pad(current, (2, 2, 2, 2), mode="reflect"), kernel, groups=x.shape[1])
        down = blurred[..., ::2, ::2]
        up = F.interpolate(down, size=current.shape[-2:], mode="bilinear", align_corners=False)
        bands.append(current - up)
        current = down
    bands.append(current)
    return bands


def laplacian_loss(pred: torch.Tensor, target: torch.Tensor, levels: int = 5) -> torch.Tensor:
    """Sum over pyramid levels of ``2^i * mean |L_i(pred) - L_i(target)|`` (coarser levels weigh more)."""
    loss = pred.new_zeros(())
    for i, (p, t) in enumerate(zip(laplacian_pyramid(pred, levels), laplacian_pyramid(target, levels))):
        loss = loss + (2**i) * (p - t).abs().mean()
    return loss


def interior_mask(target: torch.Tensor, margin: int) -> torch.Tensor:
    """Pixels at least ``margin`` px inside the visible face: ``target >= 0.99`` eroded by a
    ``(2 * margin + 1)`` square (a max-pool of the non-face pixels). ``(B, 1, H, W)`` float 0/1."""
    solid = (target >= 0.99).float()
    if margin <= 0:
        return solid
    outside = F.max_pool2d(1.0 - solid, 2 * margin + 1, stride=1, padding=margin)
    return 1.0 - outside


def hole_loss(alpha: torch.Tensor, target: torch.Tensor, margin: int = 3) -> torch.Tensor:
    """Mean over the face interior (:func:`interior_mask`) of ``max(0, target - alpha)``: punishes holes
    cut inside the visible face (eyes, teeth, beards read as occluders) and nothing elsewhere. Images with no
    interior pixels add nothing."""
    inside = interior_mask(target, margin)
    return ((target - alpha).clamp(min=0) * inside).sum() / inside.sum().clamp(min=1.0)


def uncertainty_weights(log_scale: torch.Tensor, mode: str, mix: float) -> torch.Tensor:
    """Per-pixel weights from the teacher's uncertainty, normalised to mean 1 per image.

    ``uncertainty``: proportional to the scale ``exp(log_scale)`` (attend to ambiguous pixels);
    ``confidence``: proportional to ``1 / scale`` (trust the teacher where it is sure); ``uniform``: all 1.
    The result is ``(1 - mix) + mix * normalised map``, so ``mix`` sets how far from uniform it goes.
    """
    if mode == "uniform" or mix == 0:
        return torch.ones_like(log_scale)
    ls = log_scale.detach().float()
    raw = torch.exp(ls if mode == "uncertainty" else -ls)
    raw = raw / raw.mean(dim=(1, 2, 3), keepdim=True).clamp(min=1e-12)
    return ((1 - mix) + mix * raw).to(log_scale.dtype)


def teacher_loss(out: dict[str, torch.Tensor], target: torch.Tensor, cfg: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Weighted terms and ``total`` for the teacher (``cfg`` = the ``loss`` table of the config)."""
    alpha = out["alpha"].float()
    terms: dict[str, torch.Tensor] = {}
    if cfg["nll"]:
        terms["nll"] = cfg["nll"] * nll_loss(alpha, out["log_scale"].float(), target, cfg["nll_dist"], cfg["beta"])
    if cfg["l1"]:
        terms["l1"] = cfg["l1"] * (alpha - target).abs().mean()
    if cfg["laplacian"]:
        terms["laplacian"] = cfg["laplacian"] * laplacian_loss(alpha, target, cfg["laplacian_levels"])
    if cfg.get("hole"):
        terms["hole"] = cfg["hole"] * hole_loss(alpha, target, cfg["hole_margin"])
    terms["total"] = sum(terms.values()) if terms else alpha.sum() * 0
    return terms


def student_loss(out: dict[str, torch.Tensor], target: torch.Tensor, teacher: dict[str, torch.Tensor] | None,
                 cfg: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Spatially adaptive distillation: uncertainty-weighted L1 to the ground truth and to the teacher's
    alpha, plus the Laplacian loss to the ground truth. Without a teacher the weights are uniform and the
    distillation term is dropped (plain supervised training)."""
    alpha = out["alpha"].float()
    terms: dict[str, torch.Tensor] = {}
    log_scale = teacher["log_scale"] if teacher is not None else torch.zeros_like(alpha)
    if cfg["gt"]:
        w = uncertainty_weights(log_scale, cfg["gt_weighting"] if teacher is not None else "uniform", cfg["weight_mix"])
        terms["gt"] = cfg["gt"] * (w * (alpha - target).abs()).mean()
    if cfg["distill"] and teacher is not None:
        w = uncertainty_weights(log_scale, cfg["distill_weighting"], cfg["weight_mix"])
        terms["distill"] = cfg["distill"] * (w * (alpha - teacher["alpha"].detach().float()).abs()).mean()
    if cfg["laplacian"]:
        terms["laplacian"] = cfg["laplacian"] * laplacian_loss(alpha, target, cfg["laplacian_levels"])
    if cfg.get("hole"):
        terms["hole"] = cfg["hole"] * hole_loss(alpha, target, cfg["hole_margin"])
    terms["total"] = sum(terms.values()) if terms else alpha.sum() * 0
    return terms
