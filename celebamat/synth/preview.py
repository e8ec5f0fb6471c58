"""Preview of a recipe: render fresh samples and lay them out as a sheet (no dataset written)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from celebamat.dataset.recipe import Recipe

log = logging.getLogger(__name__)


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
    from celebamat.dataset.build import check_occluder_pools
    from celebamat.dataset.shards import library_for, load_face, source_for
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

    from celebamat.dataset.preview import occluder_label, preview_sheet
    from celebamat.errors import CelebAMatError
    from celebamat.utils.sheet import save_png

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
