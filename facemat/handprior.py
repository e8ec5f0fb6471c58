"""The hand prior: a fourth input channel that says where mediapipe's hand landmarker sees a hand.

A student trained on synthetic composites keeps real fingers on a cheek as skin (docs/results.md): real hands
look unlike any drawn one. Mediapipe's hand landmarker was trained on real hands, so where it finds one, its
21 landmarks drawn as a rough mask (:func:`celebamat.hands.hand_mask`) tell the network "a hand is here"; the
network refines the outline from the picture. A model trained with it (``hand_prior = true`` in its recipe)
records that in its config, and every runtime (:mod:`facemat.runtime`) adds the channel itself, so callers
always pass plain RGB batches.

In training the channel is computed on the augmented crop, exactly as at inference, and blanked with
probability ``hand_prior_drop`` so that the network still learns hands the landmarker misses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # torch is imported where a tensor is made: the ONNX path and predict start without it
    import torch

#: Config key that switches the channel on (top level of a FaceMat config).
CONFIG_KEY = "hand_prior"


def uses_hand_prior(config: dict[str, Any]) -> bool:
    """Whether a checkpoint config expects the hand-prior channel."""
    return bool(config.get(CONFIG_KEY, False))


def hand_prior_mask(image: np.ndarray, landmarker: Any = None, pads: Sequence[float] | None = None) -> np.ndarray:
    """Hand mask of one picture.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        landmarker: a :class:`celebamat.landmarks.Landmarker` (default: the process-local one).
        pads: the landmarker's borders (default :data:`celebamat.landmarks.HAND_PADS`, two passes;
            :data:`~celebamat.landmarks.FAST_HAND_PADS` for one).

    Returns:
        ``(H, W)`` float32 in [0, 1], 1 on the hands found.
    """
    from celebamat.hands import hand_mask

    if landmarker is None:
        from celebamat.landmarks import get_landmarker

        landmarker = get_landmarker()
    return hand_mask(landmarker.hands(image, pads), image.shape[:2])


def _to_uint8(chw: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray((np.clip(chw.transpose(1, 2, 0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))


def with_hand_prior(batch: np.ndarray, pads: Sequence[float] | None = None) -> np.ndarray:
    """``(N, 3, H, W)`` float32 RGB in [0, 1] -> ``(N, 4, H, W)``: the hand mask of each picture appended
    (``pads``: see :func:`hand_prior_mask`)."""
    x = np.asarray(batch, np.float32)
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"hand prior: expected an (N, 3, H, W) RGB batch, got shape {x.shape}")
    masks = np.stack([hand_prior_mask(_to_uint8(img), pads=pads)[None] for img in x]).astype(np.float32)
    return np.concatenate([x, masks], axis=1)


def prior_channel(image: torch.Tensor) -> torch.Tensor:
    """``(3, H, W)`` float tensor in [0, 1] -> ``(1, H, W)`` float32 hand mask."""
    import torch

    return torch.from_numpy(hand_prior_mask(_to_uint8(image.detach().cpu().numpy()))[None])


def with_hand_prior_torch(batch: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` float tensor in [0, 1] -> ``(N, 4, H, W)`` on the same device."""
    import torch

    masks = torch.stack([prior_channel(img) for img in batch]).to(batch.device, batch.dtype)
    return torch.cat([batch, masks], dim=1)
