"""A CelebAMask-HQ-shaped folder made from the demo faces, for benchmarks, tests and trying a recipe.

The layout is the dataset's as distributed (photos at 1024 px, part masks at 512 px, the HQ -> CelebA mapping
and CelebA identities), so ``celebamask-hq:ROOT`` reads it like the real thing. The masks are drawn from the
faces' landmarks: right in shape, not CelebAMask-HQ's annotations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from celebamat.faces.celebamask import IDENTITY_FILE, IMAGE_DIR, MAPPING_FILE, MASK_DIR


def write_celebamask_layout(root: str | Path, n_faces: int, *, images_per_identity: int = 2,
                            size: int = 1024) -> Path:
    """Write ``n_faces`` faces (the demo faces, cycled) as a CelebAMask-HQ folder at ``root``.

    Args:
        root: the folder to create (``celebamask-hq:ROOT`` then reads it).
        n_faces: images ``0 .. n_faces - 1``.
        images_per_identity: consecutive images share one CelebA identity.
        size: side of the photos (CelebAMask-HQ's are 1024).

    Returns:
        ``root`` as a :class:`~pathlib.Path`.
    """
    from PIL import Image

    from celebamat.faces import open_source
    from celebamat.landmarks import EYE_LEFT_RING, EYE_RIGHT_RING, FACE_OVAL, LIPS_OUTER, face_anchors

    root = Path(root)
    src = open_source("demo", size=512)
    keys = src.keys()
    (root / IMAGE_DIR).mkdir(parents=True, exist_ok=True)
    mapping, ident = ["idx orig_idx orig_file"], []
    records: dict[str, Any] = {}
    for n in range(n_faces):
        key = keys[n % len(keys)]
        if key not in records:
            records[key] = src.load(key)
        rec = records[key]
        img = cv2.resize(rec.image, (size, size), interpolation=cv2.INTER_CUBIC)
        Image.fromarray(img).save(root / IMAGE_DIR / f"{n}.jpg", quality=95)
        ann = root / MASK_DIR / str(n // 2000)
        ann.mkdir(parents=True, exist_ok=True)
        pts = rec.landmarks.astype(np.float64)

        def poly(idx) -> np.ndarray:
            m = np.zeros((512, 512), np.uint8)
            cv2.fillPoly(m, [np.round(pts[list(idx)]).astype(np.int32)], 255)
            return m

        parts = {"skin": poly(FACE_OVAL), "l_eye": poly(EYE_LEFT_RING), "r_eye": poly(EYE_RIGHT_RING),
                 "u_lip": poly(LIPS_OUTER)}
        hair = np.zeros((512, 512), np.uint8)
        hair[: int(face_anchors(pts)["forehead"][1])] = 255
        parts["hair"] = hair
        for p, m in parts.items():
            Image.fromarray(m).save(ann / f"{n:05d}_{p}.png")
        mapping.append(f"{n} {n} {n:06d}.jpg")
        ident.append(f"{n:06d}.jpg {n // images_per_identity}")
    (root / MAPPING_FILE).write_text("\n".join(mapping) + "\n")
    (root / IDENTITY_FILE).write_text("\n".join(ident) + "\n")
    return root
