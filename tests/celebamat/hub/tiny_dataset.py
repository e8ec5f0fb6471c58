"""A real tiny CelebAMat build for the hub tests: the demo recipe, 12 samples, small shards.

``celebamat build`` writes the folder (``data/<split>-<kkkkk>-of-<nnnnn>.parquet``, ``manifest.json``, the
``README.md`` card and ``preview.png``), so ``celebamat verify`` passes for real before each push.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

SAMPLES = 12


def make_tiny_dataset(root: Path, seed: int = 0, rows_per_shard: int = 2) -> Path:
    """Build ``SAMPLES`` demo samples into ``root`` (train 10, validation 1, test 1) and return ``root``.

    With the default ``rows_per_shard`` the train split has 5 shards: 7 shards in all. The build must pass
    ``celebamat verify`` (push refuses it otherwise); a failure here is a builder fault, reported as such.
    """
    from celebamat.dataset.build import build_dataset
    from celebamat.dataset.recipe import load_recipe
    from celebamat.dataset.verify import verify_dataset

    recipe = load_recipe("demo").with_overrides(samples=SAMPLES, seed=seed)
    recipe = replace(recipe, output=replace(recipe.output, rows_per_shard=rows_per_shard, preview_samples=4))
    build_dataset(recipe, root, progress=False)
    report = verify_dataset(root)
    assert report.ok, f"the tiny demo build (seed {seed}) fails celebamat verify: {report.faults}"
    return root


def manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


def published_files(root: Path) -> list[str]:
    """The repo paths a push of ``root`` must publish: every shard, the card, the preview and the manifest."""
    return [s["path"] for s in manifest(root)["shards"]] + ["README.md", "preview.png", "manifest.json"]
