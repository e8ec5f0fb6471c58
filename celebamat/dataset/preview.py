"""Preview sheets of samples: composite, alpha and overlay side by side, with the occluder kinds named.

Two previews: of a built dataset (:func:`render_dataset_preview`, rows read from its shards: the card's
``preview.png``), and of a recipe (:func:`preview_recipe`, fresh samples rendered through a build worker's
caches, nothing written but the sheet: ``celebamat preview``).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Iterable

import cv2
import numpy as np

from celebamat.dataset.recipe import Recipe
from celebamat.utils.sheet import caption, grid, matte_rgb, overlay, save_png

log = logging.getLogger(__name__)

TILE = 192


def sample_tiles(image: np.ndarray, alpha: np.ndarray, occluder_alpha: np.ndarray, label: str) -> list[np.ndarray]:
    """Three tiles for one sample: composite (captioned), alpha, overlay."""
    def fit(x: np.ndarray) -> np.ndarray:
        return cv2.resize(x, (TILE, TILE), interpolation=cv2.INTER_AREA)

    return [
        caption(fit(image), label),
        caption(fit(matte_rgb(alpha)), "alpha"),
        caption(fit(overlay(image, alpha, occluder_alpha)), "overlay"),
    ]


def occluder_label(occluders: Iterable[dict[str, Any]]) -> str:
    names = [f"{o['kind']}:{o['subtype']}" for o in occluders]
    return ", ".join(names) if names else "clean"


def preview_sheet(samples: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]], per_row: int = 2) -> np.ndarray:
    """A sheet of ``(image, alpha, occluder_alpha, label)`` samples, ``per_row`` samples (x3 tiles) per row."""
    tiles: list[np.ndarray] = []
    for image, alpha, occ, label in samples:
        tiles.extend(sample_tiles(image, alpha, occ, label))
    return grid(tiles, cols=3 * per_row)


def _decode(cell: Any, gray: bool = False) -> np.ndarray:
    from PIL import Image

    im = Image.open(io.BytesIO(cell["bytes"]))
    return np.asarray(im.convert("L" if gray else "RGB"))


def render_dataset_preview(dataset_dir: str | Path, out_path: str | Path, n: int = 12) -> Path:
    """Preview of a built dataset: ``n`` rows spread over its splits, read straight from the shards."""
    import pyarrow.parquet as pq

    files = sorted((Path(dataset_dir) / "data").glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no shards under {Path(dataset_dir) / 'data'}")
    by_split: dict[str, list[Path]] = {}
    for f in files:
        by_split.setdefault(f.name.split("-")[0], []).append(f)
    order = [s for s in ("train", "validation", "test") if s in by_split]
    share = {s: max(1, n // len(order)) for s in order}
    share[order[0]] += n - sum(share.values())
    samples = []
    cols = ["image", "alpha", "occluder_alpha", "occluders", "split"]
    for s in order:
        table = pq.read_table(by_split[s][0], columns=cols).slice(0, share[s]).to_pylist()
        for r in table:
            label = f"{r['split']}: {occluder_label(r['occluders'])}"
            samples.append((_decode(r["image"]), _decode(r["alpha"], True), _decode(r["occluder_alpha"], True), label))
    out = Path(out_path)
    save_png(out, preview_sheet(samples))
    return out


@dataclass(frozen=True)
class PreviewSample:
    """One rendered preview sample: its sample ``index`` (the seed stream), ``face`` key, params and images."""

    index: int
    face: str
    params: Any  # CompositeParams
    sample: Any  # synth.render.Sample


def preview_samples(recipe: Recipe, *, split: str = "train", skipped: list[str] | None = None
                    ) -> Iterator[PreviewSample]:
    """Render samples of ``recipe`` one after the other, taking the usable faces in turn in the source's order.

    Sample ``i`` draws every random choice from the stream of sample index ``i`` of a build with the same seed
    (``SeedSequence([seed, i])``, the same params for the same face), and ``split`` picks the occluder assets
    (a test split's or a train split's) as in a build. It is *not* row ``i`` of a build: a build's plan gives
    each row a face drawn in a shuffled order (``celebamat.dataset.plan``), and a split's rows start at that
    split's offset in the sample indices (train, then validation, then test). So the preview shows what the
    recipe makes, on the source's first faces, and matches a built row only where the plan gave that row's
    index the same face (and split).

    Faces the source refuses are skipped (their messages appended to ``skipped``); the generator ends when
    every face was refused.
    """
    from celebamat.dataset.plan import check_occluder_pools
    from celebamat.dataset.worker import library_for, load_face, source_for
    from celebamat.errors import CelebAMatError, FaceSkipped
    from celebamat.synth.render import render
    from celebamat.synth.sampling import sample_params, sample_rng, sample_seed

    source, library = source_for(recipe), library_for(recipe)
    for warning in check_occluder_pools(recipe, library, splits=(split,)):
        log.warning("%s", warning)
    keys = source.keys()
    if not keys:
        raise CelebAMatError(f"face source {recipe.faces.source!r} has no faces")
    bad: set[str] = set()
    i = k = 0
    while len(bad) < len(keys):
        key = keys[k % len(keys)]
        k += 1
        if key in bad:
            continue
        try:
            face = load_face(source, key)
        except FaceSkipped as exc:
            bad.add(key)
            if skipped is not None:
                skipped.append(str(exc))
            continue
        params = sample_params(sample_rng(recipe.seed, i), face, library, recipe.synth, split=split,
                               seed=sample_seed(recipe.seed, i))
        s = render(face, {op.asset_id: library.get(op.asset_id) for op in params.occluders}, params)
        yield PreviewSample(i, key, params, s)
        i += 1


def preview_recipe(recipe: Recipe, out: str | Path, *, n: int = 24, split: str = "train") -> tuple[Path, list[str]]:
    """Render ``n`` samples of ``recipe`` (see :func:`preview_samples`) into a sheet at ``out``.

    Returns the sheet path and the faces that were skipped, with reasons.
    """
    from tqdm.auto import tqdm

    from celebamat.errors import CelebAMatError

    samples, skipped = [], []
    with tqdm(total=n, desc="rendering preview", unit="sample") as bar:
        for p in islice(preview_samples(recipe, split=split, skipped=skipped), max(0, n)):
            label = occluder_label({"kind": o.kind, "subtype": o.subtype} for o in p.params.occluders)
            samples.append((p.sample.image, p.sample.alpha, p.sample.occluder_alpha, label))
            bar.update(1)
    if not samples:
        raise CelebAMatError(f"every face of {recipe.faces.source!r} was skipped: " + "; ".join(skipped[:5]))
    out = Path(out)
    save_png(out, preview_sheet(samples))
    return out, skipped
