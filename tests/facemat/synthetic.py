"""A tiny CelebAMat-format dataset folder for tests and benchmarks: learnable synthetic mattes.

Each row: a textured background, a skin-coloured disc ("face"), and an occluding bar of another colour
crossing it; ``alpha = disc * (1 - bar)`` with antialiased edges (supersampled), 255 = skin. Written with
the published features (``celebamat.dataset.schema.features()``) as parquet shards plus a README.md whose
YAML front matter has ``configs``, so ``datasets.load_dataset(folder)`` reads it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SS = 4  # supersampling factor for antialiased mattes


def _shape_masks(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    n = size * SS
    yy, xx = np.mgrid[0:n, 0:n] / n
    cx, cy = rng.uniform(0.35, 0.65, 2)
    r = rng.uniform(0.22, 0.34)
    disc = ((xx - cx) ** 2 + ((yy - cy) / 1.15) ** 2) < r**2
    angle = rng.uniform(0, np.pi)
    px, py = cx + rng.uniform(-0.2, 0.2), cy + rng.uniform(-0.2, 0.2)
    dist = np.abs((xx - px) * np.sin(angle) - (yy - py) * np.cos(angle))
    bar = dist < rng.uniform(0.04, 0.1)
    pool = lambda m: m.reshape(size, SS, size, SS).mean((1, 3))  # noqa: E731
    return pool(disc.astype(np.float64)), pool(bar.astype(np.float64))


def make_row(rng: np.random.Generator, size: int, index: int, split: str) -> dict:
    disc, bar = _shape_masks(rng, size)
    if rng.random() < 0.15:
        bar = np.zeros_like(bar)  # some unoccluded faces
    skin_rgb = np.array([rng.uniform(150, 235), rng.uniform(100, 175), rng.uniform(80, 140)])
    bar_rgb = rng.uniform(0, 255, 3)
    bg = rng.uniform(0, 255, 3) * 0.6 + rng.normal(0, 25, (size, size, 3))
    face = skin_rgb + rng.normal(0, 6, (size, size, 3))
    img = bg * (1 - disc[..., None]) + face * disc[..., None]
    img = img * (1 - bar[..., None]) + bar_rgb * bar[..., None]
    alpha = disc * (1 - bar)
    to_l = lambda a: Image.fromarray(np.round(a * 255).astype(np.uint8), "L")  # noqa: E731
    return {
        "id": f"{split}-{index:07d}",
        "image": Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB"),
        "alpha": to_l(alpha),
        "skin": to_l(disc),
        "occluder_alpha": to_l(bar),
        "clean": None,
        "landmarks": np.zeros((478, 2), np.float32),
        "occluders": [],
        "occluded_fraction": float(1 - alpha.sum() / max(disc.sum(), 1e-6)),
        "face_id": f"synthetic-{index}",
        "identity": "",
        "source": "demo",
        "skin_source": "annotation:synthetic",
        "seed": index,
        "split": split,
        "params": "{}",
    }


def make_dataset(root: str | Path, rows: dict[str, int] | None = None, size: int = 64, seed: int = 0,
                 shards: int = 1) -> Path:
    """Write the dataset folder and return its path."""
    from datasets import Dataset

    from celebamat.dataset.schema import features

    rows = rows or {"train": 32, "validation": 8, "test": 8}
    root = Path(root)
    (root / "data").mkdir(parents=True, exist_ok=True)
    configs = []
    for s, (split, n) in enumerate(rows.items()):
        rng = np.random.default_rng([seed, s])
        records = [make_row(rng, size, i, split) for i in range(n)]
        ds = Dataset.from_list(records, features=features())
        k = min(shards, n)
        for i in range(k):
            ds.shard(k, i, contiguous=True).to_parquet(str(root / "data" / f"{split}-{i:05d}-of-{k:05d}.parquet"))
        configs.append(f"    - split: {split}\n      path: data/{split}-*.parquet")
    (root / "README.md").write_text(
        "---\nconfigs:\n  - config_name: default\n    data_files:\n" + "\n".join(configs) + "\n---\n\n"
        "# Synthetic CelebAMat-format fixture\n\nDiscs of skin colour occluded by bars; tests only.\n"
    )
    return root
