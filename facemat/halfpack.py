"""Half-precision weights for a model folder, with float32 kept where half precision would move the mattes.

Most of a FaceMat network rounds to float16 without a visible change. A few tensors may not: a channel whose
activations are large and nearly constant (a batch norm's running mean far above its spread, the convolution
feeding it) loses its small variations to float16's 11-bit mantissa, and the batch norm then amplifies the
error. :func:`pack_half` keeps exactly those tensors in float32, most sensitive first, until the mattes agree::

    packed = pack_half(model, state, size=160)
    packed.state          # name -> tensor, float16 but for packed.float32_names
    packed.check          # PrecisionCheck of the packed weights against the float32 ones

:func:`compare_mattes` is the check: the mattes of two networks on the same crops, within
:data:`facemat.pretrained.FP16_MAX_ABS` max and :data:`facemat.pretrained.FP16_MEAN_ABS` mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .pretrained import FP16_MAX_ABS, FP16_MEAN_ABS, PretrainedError

#: Largest share of the weights (by count) that may stay in float32 before half precision is refused.
MAX_FLOAT32_SHARE = 0.1


def half_state(state: dict[str, Any], keep: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """Floating tensors as float16 but those named in ``keep`` (integer buffers such as BatchNorm's step
    counters unchanged)."""
    import torch

    out = {}
    for k, v in state.items():
        if v.is_floating_point() and k not in keep:
            if v.numel() and v.abs().max().item() > 65504:
                raise PretrainedError(f"tensor {k} holds values beyond float16's range; bundle with --dtype float32")
            v = v.to(torch.float16)
        out[k] = v.contiguous()
    return out


@dataclass(frozen=True)
class PrecisionCheck:
    """Mattes of the packed weights against the run's float32 weights on the same random crops."""

    max_abs: float
    mean_abs: float
    tolerance: tuple[float, float] = (FP16_MAX_ABS, FP16_MEAN_ABS)

    @property
    def ok(self) -> bool:
        return self.max_abs <= self.tolerance[0] and self.mean_abs <= self.tolerance[1]


def check_crops(reference: Any, size: int, batch: int = 4, seed: int = 0) -> Any:
    """The ``(batch, C, size, size)`` inputs :func:`compare_mattes` runs: random smooth noise (so that the crops
    are not pure noise), with the hand prior channel when ``reference`` takes one."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(seed)
    low = torch.from_numpy(rng.random((batch, 3, max(2, size // 16), max(2, size // 16)), dtype=np.float32))
    x = F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    x = (x + 0.05 * torch.from_numpy(rng.standard_normal((batch, 3, size, size), dtype=np.float32))).clamp(0, 1)
    if getattr(reference, "in_channels", 3) == 4:  # a hand-prior model: the same prior channel for both
        from .handprior import with_hand_prior_torch

        x = with_hand_prior_torch(x)
    return x


def compare_mattes(reference: Any, packed: Any, size: int, batch: int = 4, seed: int = 0) -> PrecisionCheck:
    """Max and mean |alpha difference| of two torch models on the ``batch`` crops of :func:`check_crops`."""
    import torch

    x = check_crops(reference, size, batch, seed)
    with torch.inference_mode():
        a = reference.eval()(x)["alpha"].float()
        b = packed.eval()(x)["alpha"].float()
    d = (a - b).abs()
    return PrecisionCheck(float(d.max()), float(d.mean()))


@dataclass(frozen=True)
class HalfPack:
    """What :func:`pack_half` made: the ``state`` to store, the names it keeps in float32, and the ``check``
    (a :class:`facemat.bundle.PrecisionCheck`) of its mattes against the float32 weights."""

    state: dict[str, Any]
    float32_names: tuple[str, ...]
    check: PrecisionCheck


def _sensitivity(model: Any, state: dict[str, Any], names: list[str], x: Any) -> list[tuple[float, str]]:
    """Mean |alpha change| when only one tensor of ``names`` is rounded to float16, per tensor, largest first.
    ``model`` holds ``state`` in float32; each tensor is rounded in place and put back."""
    import torch

    live = model.state_dict()
    with torch.inference_mode():
        ref = model.eval()(x)["alpha"].float()
        out = []
        for k in names:
            saved = live[k].clone()
            live[k].copy_(saved.half().float())
            out.append((float((model(x)["alpha"].float() - ref).abs().mean()), k))
            live[k].copy_(saved)
    return sorted(out, reverse=True)


def pack_half(model: Any, state: dict[str, Any], size: int) -> HalfPack:
    """Half-precision ``state`` of ``model`` (a network holding ``state`` in float32), keeping in float32 the
    fewest tensors that let the mattes pass :func:`facemat.bundle.compare_mattes` at ``size`` px.

    All in float16 first; when that moves the mattes too much, the tensors are ranked by how much rounding each
    alone moves them and kept in float32 in that order until the check passes. Refused (``PretrainedError``)
    when that would keep more than :data:`MAX_FLOAT32_SHARE` of the weights in float32.
    """
    import copy

    def packed_net(keep: set[str]) -> tuple[dict[str, Any], Any]:
        st = half_state(state, keep)
        net = copy.deepcopy(model)
        net.load_state_dict(st, strict=True)  # widened to float32: what every loader of the file does
        return st, net

    keep: set[str] = set()
    st, net = packed_net(keep)
    check = compare_mattes(model, net, size)
    if check.ok:
        return HalfPack(st, (), check)
    floating = [k for k, v in state.items() if v.is_floating_point() and v.numel()]
    total = sum(state[k].numel() for k in floating)
    for _, k in _sensitivity(copy.deepcopy(model), state, floating, check_crops(model, size)):
        keep.add(k)
        if sum(state[n].numel() for n in keep) > MAX_FLOAT32_SHARE * total:
            break
        st, net = packed_net(keep)
        check = compare_mattes(model, net, size)
        if check.ok:
            return HalfPack(st, tuple(sorted(keep)), check)
    raise PretrainedError(
        f"half-precision weights move the mattes too much (max |diff| {check.max_abs:.4f}, mean "
        f"{check.mean_abs:.5f}) even with the most sensitive tensors ({MAX_FLOAT32_SHARE:.0%} of the weights) "
        f"in float32; bundle with --dtype float32"
    )
