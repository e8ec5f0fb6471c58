"""Synthetic rows of the CelebAMat schema for writer and card tests (importable helper, not a test)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def synthetic_rows(n: int) -> list[dict]:
    """``n`` rows of CelebAMat's schema with tiny images; row ``i`` has ``i % 3`` occluders, odd rows a clean image."""
    rng = np.random.default_rng(7)
    rgb = _png(np.full((8, 8, 3), 90, np.uint8))
    out = []
    for i in range(n):
        matte = _png(np.full((8, 8), i % 256, np.uint8))
        occ = [{"kind": "hand", "subtype": "cover_mouth", "asset_id": "a", "transform": [1.0, 0.0, 2.5, 0.0, 1.0, -1.0],
                "opacity": 0.9, "mirrored": bool(i % 2), "depth": 1, "tone_transfer": 0.5, "light_match": 0.0,
                "shadow_opacity": 0.25, "defocus_sigma": 0.0, "motion_blur": 0.0}] * (i % 3)
        out.append({
            "id": f"train-{i:07d}", "image": {"bytes": rgb, "path": None}, "alpha": {"bytes": matte, "path": None},
            "skin": {"bytes": matte, "path": None}, "occluder_alpha": {"bytes": matte, "path": None},
            "clean": {"bytes": rgb, "path": None} if i % 2 else None,
            "landmarks": rng.random((478, 2), dtype=np.float32), "occluders": occ,
            "occluded_fraction": i / 1000, "face_id": f"f{i}", "identity": "", "source": "demo",
            "skin_source": "estimate:landmarks-v7",
            "seed": 2**40 + i, "split": "train", "params": "{}",
        })
    return out
