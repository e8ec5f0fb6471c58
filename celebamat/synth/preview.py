"""Preview of a recipe: render fresh samples and lay them out as a sheet (no dataset written)."""

from __future__ import annotations

from pathlib import Path

from celebamat.dataset.recipe import Recipe


def preview_recipe(recipe: Recipe, out: str | Path, *, n: int = 24, split: str = "train") -> tuple[Path, list[str]]:
    """Render ``n`` samples of ``recipe`` (faces taken in turn) into a sheet at ``out``.

    Sample ``i`` is drawn exactly as row ``i`` of a build with the same seed would be, from face ``i`` of the
    usable faces (in turn). Returns the sheet path and the faces that were skipped, with reasons.
    """
    from tqdm.auto import tqdm

    from celebamat.dataset.preview import occluder_label, preview_sheet
    from celebamat.dataset.shards import _FACES, library_for, source_for
    from celebamat.errors import CelebAMatError, FaceSkipped
    from celebamat.synth.render import render
    from celebamat.synth.sampling import sample_params, sample_rng, sample_seed
    from celebamat.utils.sheet import save_png

    source, library = source_for(recipe), library_for(recipe)
    keys = source.keys()
    if not keys:
        raise CelebAMatError(f"face source {recipe.faces.source!r} has no faces")
    samples, skipped, bad = [], [], set()
    i = k = 0
    with tqdm(total=n, desc="rendering preview", unit="sample") as bar:
        while len(samples) < n and len(bad) < len(keys):
            key = keys[k % len(keys)]
            k += 1
            if key in bad:
                continue
            try:
                face = _FACES.get(source, key)
            except FaceSkipped as exc:
                bad.add(key)
                skipped.append(str(exc))
                continue
            params = sample_params(sample_rng(recipe.seed, i), face, library, recipe.synth, split=split,
                                   seed=sample_seed(recipe.seed, i))
            s = render(face, {op.asset_id: library.get(op.asset_id) for op in params.occluders}, params)
            label = occluder_label({"kind": o.kind, "subtype": o.subtype} for o in params.occluders)
            samples.append((s.image, s.alpha, s.occluder_alpha, label))
            i += 1
            bar.update(1)
    if not samples:
        raise CelebAMatError(f"every face of {recipe.faces.source!r} was skipped: " + "; ".join(skipped[:5]))
    out = Path(out)
    save_png(out, preview_sheet(samples))
    return out, skipped
