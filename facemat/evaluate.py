"""Evaluate a checkpoint on a split: ``evaluate(checkpoint, data, split) -> dict`` of mean metrics.

Each image is resized (antialiased) to the checkpoint's ``input_size`` (or ``input_size`` given here),
predicted, and the prediction resized back (bilinear) to the ground truth's size; metrics are computed at
the dataset's resolution (see :mod:`facemat.metrics` for conventions and regions). Means are per image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .checkpoint import load_model
from .data import decode_row, load_split
from .handprior import uses_hand_prior, with_hand_prior_torch
from .io import atomic_write_json
from .metrics import format_table, image_metrics, occluder_cut

#: Row columns that tell where the occluders lie on the face (:func:`facemat.metrics.occluder_cut`).
OCCLUDER_COLUMNS = ("skin", "occluder_alpha")


@torch.no_grad()
def evaluate(checkpoint: str | Path, data: str, split: str = "test", input_size: int | None = None,
             device: str = "cpu", limit: int = 0, json_out: str | Path | None = None,
             batch_size: int = 8) -> dict[str, Any]:
    """Mean metrics (keys of :func:`facemat.metrics.image_metrics`) plus ``count``, ``checkpoint``, ``split``,
    and, when the split has ``skin`` and ``occluder_alpha`` columns (every CelebAMat split does),
    ``occluder_cut``: the share of the pixels where an occluder lies on skin that the model cuts
    (:func:`facemat.metrics.occluder_cut`, pooled over the split), with ``occluder_pixels``.

    ``limit``: evaluate only the first ``limit`` rows (0 = all). ``json_out``: also write the result there.
    """
    model, config = load_model(checkpoint, device=device)
    size = int(input_size or config["input_size"])
    if size % 32:
        raise ValueError(f"input_size must be a multiple of 32, got {size}")
    ds = load_split(data, split, extra=OCCLUDER_COLUMNS)
    occluders = all(c in ds.column_names for c in OCCLUDER_COLUMNS)
    if limit:
        ds = ds.select(range(min(limit, len(ds))))
    sums: dict[str, float] = {}
    n = cut = over = 0
    for start in tqdm(range(0, len(ds), batch_size), desc=f"facemat-eval {split}", unit="batch"):
        raw = [ds[i] for i in range(start, min(start + batch_size, len(ds)))]
        rows = [decode_row(r) for r in raw]
        images = torch.stack([F.interpolate(img[None], size=(size, size), mode="bilinear", align_corners=False,
                                            antialias=True)[0] for img, _ in rows]).clamp(0, 1)
        if uses_hand_prior(config):
            images = with_hand_prior_torch(images)
        alpha = model(images.to(device))["alpha"].float().cpu()
        for (_, gt), pred, row in zip(rows, alpha, raw):
            pred = F.interpolate(pred[None], size=gt.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
            for k, v in image_metrics(pred.numpy(), gt[0].numpy()).items():
                sums[k] = sums.get(k, 0.0) + v
            if occluders:
                c, o = occluder_cut(pred.numpy(), *(np.asarray(row[k].convert("L"), np.float32) / 255.0
                                                    for k in OCCLUDER_COLUMNS))
                cut, over = cut + c, over + o
            n += 1
    if n == 0:
        raise ValueError(f"split {split!r} of {data} has no rows")
    result: dict[str, Any] = {k: v / n for k, v in sums.items()}
    if over:
        result.update(occluder_cut=cut / over, occluder_pixels=over)
    result.update(count=n, checkpoint=str(checkpoint), data=str(data), split=split, input_size=size,
                  conventions="SAD/Grad/Conn divided by 1000, MSE raw (x1e3 when printed); "
                              "whole = all pixels, unknown = trimap band from the ground truth")
    if json_out:
        atomic_write_json(json_out, result)
    return result


def print_result(result: dict[str, Any]) -> None:
    print(f"{result['count']} images of split {result['split']} at input {result['input_size']} px; "
          f"means per image")
    print(format_table({k: v for k, v in result.items() if isinstance(v, float)}))
    if "occluder_cut" in result:
        print(f"occluders lying on skin, cut (prediction < 0.5): {result['occluder_cut']:.4f} of "
              f"{result['occluder_pixels']} pixels; visible skin kept: Recall {result['recall']:.4f}")
