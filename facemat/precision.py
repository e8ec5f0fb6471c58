"""Numeric precision choices for training: autocast contexts and the CPU features that decide them."""

from __future__ import annotations

from contextlib import nullcontext
from functools import lru_cache
from pathlib import Path
from typing import ContextManager

import torch

# CPU flags (Linux /proc/cpuinfo names) of native bfloat16 arithmetic: without them bf16 is emulated and slower.
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when this CPU reports native bfloat16 instructions (AVX512-BF16 or AMX-BF16).

    Read from ``/proc/cpuinfo``; False where it is absent (not Linux) or unreadable, so that ``auto`` settings
    fall back to float32, which is never wrong, only slower on such CPUs."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            return any(flag in flags for flag in NATIVE_BF16_FLAGS)
    return False


def resolve_teacher_bf16(setting: bool | str, device: torch.device) -> bool:
    """Whether the frozen teacher of a student run runs its forward pass in bfloat16 on ``device``.

    ``setting``: True, False or ``"auto"`` (``optim.teacher_bf16``); ``auto`` is True on a CPU with native
    bf16 and False elsewhere (on GPU the teacher follows ``optim.amp`` with the student)."""
    if setting == "auto":
        return device.type == "cpu" and cpu_has_native_bf16()
    if isinstance(setting, bool):
        return setting and device.type == "cpu"
    raise ValueError(f"optim.teacher_bf16 must be true, false or 'auto', got {setting!r}")


def teacher_autocast(enabled: bool) -> ContextManager:
    """The context the teacher's forward runs in: CPU bf16 autocast when ``enabled``.

    The teacher only supplies targets (alpha in [0, 1] and a log-scale); in bf16 they differ from float32 by
    about 2e-3 on average on 256 px faces, while its forward takes about 0.55 of the float32 time on a CPU with
    AMX (docs/facemat.md)."""
    return torch.autocast("cpu", dtype=torch.bfloat16) if enabled else nullcontext()


def training_autocast(device: torch.device, enabled: bool, cpu_bf16: bool = False):
    """The autocast context and gradient scaler for the trained model on ``device``: on CUDA bf16 (or fp16 with
    a scaler) when ``enabled``; on CPU bf16 only when ``enabled and cpu_bf16`` (the backward pass in bf16 was
    slower than float32 even with AMX); else no autocast."""
    if device.type == "cpu" and enabled and cpu_bf16:
        return torch.autocast("cpu", dtype=torch.bfloat16), None
    if device.type != "cuda" or not enabled:
        return nullcontext(), None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return torch.autocast("cuda", dtype=dtype), scaler


def make_optimizer(params, lr: float, weight_decay: float, device: torch.device) -> torch.optim.AdamW:
    """AdamW with torch's fused kernel on CPU and CUDA (one kernel for all parameters: a step of the 0.9 M
    parameter student took 1.4 ms instead of 7.5 ms on CPU), the per-tensor loop elsewhere."""
    fused = device.type in ("cpu", "cuda")
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=fused or None)


def param_groups(model: torch.nn.Module, encoder_lr_scale: float = 1.0) -> list[dict]:
    """The model's parameters for the optimizer: one group, or with ``encoder_lr_scale`` below 1 the encoder's
    (``model.encoder``) apart, its ``lr_scale`` the share of the learning rate it trains at."""
    encoder = getattr(model, "encoder", None)
    if encoder_lr_scale == 1.0 or encoder is None:
        return [{"params": list(model.parameters()), "lr_scale": 1.0}]
    own = {id(p) for p in encoder.parameters()}
    return [{"params": list(encoder.parameters()), "lr_scale": float(encoder_lr_scale)},
            {"params": [p for p in model.parameters() if id(p) not in own], "lr_scale": 1.0}]


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set the learning rate of every group of ``optimizer`` to ``lr`` times its ``lr_scale`` (1 when absent:
    groups of an optimizer state saved before scales existed)."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict) -> None:
    """Load ``state`` into ``optimizer`` with every per-parameter tensor in its parameter's memory layout.

    A checkpoint stores tensors contiguous; the fused AdamW kernel walks a parameter and its moments as one
    flat buffer, so channels-last weights with contiguous moments would be updated with scrambled moments."""
    optimizer.load_state_dict(state)
    for param, slots in optimizer.state.items():
        for key, value in slots.items():
            if isinstance(value, torch.Tensor) and value.shape == param.shape and value.stride() != param.stride():
                slots[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)
