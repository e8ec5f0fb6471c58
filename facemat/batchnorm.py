"""Precise batch-norm statistics: the running statistics a trained network is evaluated with, recomputed.

During training a batch norm normalises with the batch's own statistics and keeps an exponential average of them
(momentum 0.1, so mostly the last ten batches) for evaluation. When the weights move fast, that average describes
the network of a few steps ago, and a network with no normalisation upstream (the MobileNetV2 encoder, whose batch
norms are folded) can drift so far between steps that the average is useless: a MobileNetV2 teacher trained
normally and validated at IoU 0.33 in eval mode, 0.73 with its statistics recomputed; a student started from
such a teacher validated at 0.0 mid-run, 0.86 recomputed (docs/results.md). So before each validation and
before the final save, training recomputes them as the plain average over a fixed set of training batches, with
the weights fixed (``optim.precise_bn``; "precise BN", Wu and Johnson, 2021). Only the batch norms' buffers
change.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import torch
from torch import nn
from torch.optim.swa_utils import update_bn
from torch.utils.data import Dataset, IterableDataset, Subset

from .data import make_loader, model_input, sample_generator


def has_batchnorm(model: nn.Module) -> bool:
    """Whether ``model`` holds a batch norm with running statistics."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats for m in model.modules())


def recalibrate_batchnorm(model: nn.Module, inputs: Iterable[torch.Tensor], device: torch.device | None = None) -> int:
    """Replace every batch norm's running mean and variance by their average over ``inputs``.

    Args:
        model: the network (its mode is restored afterwards; weights are untouched).
        inputs: network inputs, each ``(B, C, H, W)`` as the model takes them.
        device: where to move each input (``None``: as given).

    Returns:
        The number of batches seen (0 leaves the statistics as they were).
    """
    seen = []

    def counted() -> Iterator[torch.Tensor]:
        for x in inputs:
            seen.append(1)
            yield x

    if not has_batchnorm(model):
        return 0
    saved = {k: v.clone() for k, v in model.state_dict().items() if "running_" in k or "num_batches" in k}
    with torch.no_grad():
        update_bn(counted(), model, device)
    if not seen:  # update_bn reset the statistics before finding the loader empty: put them back
        model.load_state_dict(saved, strict=False)
    return len(seen)


def calibration_batches(dataset: Dataset, batches: int, batch_size: int, seed: int,
                        memory_format: torch.memory_format = torch.contiguous_format) -> Iterator[torch.Tensor]:
    """Up to ``batches`` network inputs from the training ``dataset``: a fixed, seeded choice of rows (map-style)
    or the stream's first rows (iterable), read in this process, so the training loader and its order are not
    touched."""
    if not isinstance(dataset, IterableDataset):
        n = min(len(dataset), batches * batch_size)
        order = torch.randperm(len(dataset), generator=sample_generator(seed, 104729))[:n].tolist()
        dataset = Subset(dataset, order)
    for i, batch in enumerate(make_loader(dataset, batch_size, 0, drop_last=False)):
        if i >= batches:
            return
        yield model_input(batch).contiguous(memory_format=memory_format)
