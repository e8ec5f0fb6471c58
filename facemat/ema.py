"""An exponential moving average of the weights, evaluated and saved in place of the last step's (``optim.ema``).

A network trained on a few thousand composites of a hundred faces moves a good deal between its last steps; the
average over the last few hundred of them is a smoother function of the data, the same idea as stochastic weight
averaging (Izmailov et al., 2018) and timm's ``ModelEmaV3``. Built on torch's own :class:`AveragedModel`, with a
warm-up of the decay so the first steps' weights, far from the trained ones, are forgotten quickly:

    decay(n) = min(ema, (1 + n) / (10 + n))    after n updates

Only the weights are averaged; integer buffers (``num_batches_tracked``) follow the live model. The batch norms'
running statistics are averaged too, then recomputed on the averaged weights before they are used
(``optim.precise_bn``, :mod:`facemat.batchnorm`).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel


def ema_decay(updates: int, decay: float) -> float:
    """The decay of an update made after ``updates`` earlier ones: ``decay`` once warmed up, less before
    (0.18 after one update, 0.55 after ten, 0.9 after 80; the first update copies the weights)."""
    return min(decay, (1.0 + updates) / (10.0 + updates))


def weight_average(model: nn.Module, decay: float) -> AveragedModel:
    """A :class:`torch.optim.swa_utils.AveragedModel` of ``model`` (a copy of it, in the same memory format) whose
    ``update_parameters(model)`` moves it towards ``model`` by ``1 - ema_decay(n, decay)``.

    Args:
        model: the live network (unwrapped from DDP).
        decay: in (0, 1); 0.999 averages over about the last thousand steps.
    """
    if not 0.0 < decay < 1.0:
        raise ValueError(f"EMA decay must be in (0, 1), got {decay!r}")

    def multi_avg_fn(averaged: list[torch.Tensor], current: list[torch.Tensor], n: torch.Tensor) -> None:
        # Called once per step for every tensor of one dtype: the decay is read once, not per tensor.
        if not averaged[0].is_floating_point():  # integer buffers (num_batches_tracked) follow the live model
            for a, c in zip(averaged, current):
                a.copy_(c)
            return
        w = 1.0 - ema_decay(int(n), decay)
        for a, c in zip(averaged, current):
            a.lerp_(c, w)

    # The average must not record autograd history or take the optimizer's gradients.
    return AveragedModel(model, multi_avg_fn=multi_avg_fn, use_buffers=True).requires_grad_(False)
