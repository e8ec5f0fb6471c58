"""The build plan: which face every sample uses, which split it is in, and how rows group into shards.

The plan is a pure function of the recipe and the list of usable faces (with identities), so it is the same
for any worker count and any history of interruptions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from celebamat.dataset.recipe import Recipe
from celebamat.dataset.schema import SPLITS
from celebamat.errors import CelebAMatError

# Distinct streams of the recipe seed (sample seeds use SeedSequence([seed, sample_index])).
_SPLIT_STREAM = 0x5111


@dataclass(frozen=True)
class ShardTask:
    """One shard: rows ``[start, start + len(rows))`` of ``split``; ``rows`` are (sample index, face key).

    ``pool`` holds the faces ``split`` may use: a face that fails to load in the worker is replaced from it.
    """

    split: str
    index: int
    count: int
    start: int
    rows: tuple[tuple[int, str], ...]
    pool: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return shard_name(self.split, self.index, self.count)

    @property
    def digest(self) -> str:
        """sha256 of everything that decides the shard's rows (split, position, samples, faces, pool): a
        resume keeps a written shard only when its task is the same, so a change of the faces (a photo
        added to a folder) can never leave an old shard beside new ones."""
        import hashlib
        import json

        spec = [self.split, self.index, self.count, self.start, [list(r) for r in self.rows], list(self.pool)]
        return hashlib.sha256(json.dumps(spec).encode()).hexdigest()


def shard_name(split: str, index: int, count: int) -> str:
    """Relative path of a shard: ``data/<split>-<kkkkk>-of-<nnnnn>.parquet``."""
    return f"data/{split}-{index:05d}-of-{count:05d}.parquet"


@dataclass(frozen=True)
class BuildPlan:
    splits: dict[str, tuple[str, ...]]  # split -> face key of each row, in row order
    offsets: dict[str, int]  # split -> global sample index of its first row
    faces: dict[str, tuple[str, ...]]  # split -> the faces it may use

    def shards(self, rows_per_shard: int) -> list[ShardTask]:
        tasks = []
        for split in SPLITS:
            keys = self.splits.get(split, ())
            if not keys:
                continue
            count = math.ceil(len(keys) / rows_per_shard)
            for k in range(count):
                a, b = k * rows_per_shard, min(len(keys), (k + 1) * rows_per_shard)
                rows = tuple((self.offsets[split] + i, keys[i]) for i in range(a, b))
                tasks.append(ShardTask(split=split, index=k, count=count, start=a, rows=rows,
                                       pool=self.faces.get(split, ())))
        return tasks

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.splits.values())


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), _SPLIT_STREAM, *stream]))


def _resolve_total(wanted: dict[str, int | None], total: int, available: int) -> dict[str, int | None]:
    """Resolve the "rest" split from the usable faces, then rescale all splits to ``total`` samples.

    On a face set smaller than the recipe was written for, "rest" counts as at least four times the fixed
    splits, so a small trial build keeps a training-heavy split like the full one.
    """
    from celebamat.dataset.recipe import scale_counts

    fixed = sum(v for v in wanted.values() if v is not None)
    rest = max(available - fixed, 4 * fixed, 1)
    resolved = {s: (v if v is not None else rest) for s, v in wanted.items()}
    return scale_counts(resolved, total)


def make_plan(recipe: Recipe, faces: list[tuple[str, str | None]]) -> BuildPlan:
    """Assign faces to splits and samples to faces.

    Args:
        recipe: the resolved recipe.
        faces: usable faces as ``(key, identity)``, in the source's order.

    Raises:
        CelebAMatError: when there are no usable faces, or too few for identity- or face-disjoint splits.
    """
    if not faces:
        raise CelebAMatError(
            f"no usable faces in {recipe.faces.source!r}: every face was skipped (see the report above)"
        )
    cfg = recipe.splits
    spf = cfg.samples_per_face
    keys = sorted(k for k, _ in faces)
    wanted = {s: cfg.counts.get(s, 0) for s in SPLITS}
    if cfg.total is not None:
        wanted = _resolve_total(wanted, cfg.total, len(keys) * spf)

    if cfg.assign == "sample":
        pools = {s: tuple(keys) for s in SPLITS}
    else:
        groups: dict[str, list[str]] = {}
        for key, ident in sorted(faces):
            g = key if cfg.assign == "face" or not ident else f"id:{ident}"
            groups.setdefault(g, []).append(key)
        order = sorted(groups)
        perm = _rng(recipe.seed, 1).permutation(len(order))
        shuffled = [order[i] for i in perm]
        pools = {}
        pos = 0
        # Fixed-size splits first (test, then validation), so their sizes hold whatever the face set.
        fill_order = [s for s in ("test", "validation", "train") if wanted[s] is not None] + [
            s for s in SPLITS if wanted[s] is None
        ]
        for s in fill_order:
            need = wanted[s]
            taken: list[str] = []
            if need is None:
                for g in shuffled[pos:]:
                    taken.extend(groups[g])
                pos = len(shuffled)
            else:
                need_faces = math.ceil(need / spf) if need else 0
                while len(taken) < need_faces and pos < len(shuffled):
                    taken.extend(groups[shuffled[pos]])
                    pos += 1
                if len(taken) < need_faces:
                    raise CelebAMatError(
                        f"split {s!r} needs {need_faces} faces for {need} samples "
                        f"({spf} per face, {cfg.assign}-disjoint) but only {len(taken)} are left of "
                        f"{len(keys)} usable faces; build fewer samples with --samples N, or lower the split "
                        "sizes or raise splits.samples_per_face in the recipe"
                    )
            pools[s] = tuple(sorted(taken))

    splits: dict[str, tuple[str, ...]] = {}
    for si, s in enumerate(SPLITS):
        pool = pools.get(s, ())
        n = wanted[s] if wanted[s] is not None else len(pool) * spf
        if n and not pool:
            raise CelebAMatError(f"split {s!r} has {n} samples but no faces")
        rows: list[str] = []
        cycle = 0
        while len(rows) < n:
            perm = _rng(recipe.seed, 2, si, cycle).permutation(len(pool))
            rows.extend(pool[i] for i in perm[: n - len(rows)])
            cycle += 1
        splits[s] = tuple(rows)
    offsets, acc = {}, 0
    for s in SPLITS:
        offsets[s] = acc
        acc += len(splits[s])
    return BuildPlan(splits=splits, offsets=offsets, faces=pools)


def check_occluder_pools(recipe: Recipe, library: Any, splits: tuple[str, ...] | None = None) -> list[str]:
    """Check that every split the recipe builds (or each of ``splits``) can draw the occluder kinds it asks for.

    Each split draws from one asset split of the library (``occluders.test_asset_splits``). A kind without
    assets there is left out of that split's draws; when no requested kind has any, the split's rows would all
    be clean faces although the recipe asks for occluders. That raises :class:`CelebAMatError`; a partial gap
    returns one warning per split naming the missing kinds.
    """
    from celebamat.synth.sampling import asset_split_for

    occ = recipe.synth.occluders
    if occ.count[0] >= 1.0:  # the recipe asks for clean faces only
        return []
    wanted = [k for k, w in occ.kinds.items() if w > 0]
    warnings = []
    for split in splits or SPLITS:
        if splits is None and recipe.splits.counts.get(split, 0) == 0:  # None is "the rest": built
            continue
        assets = asset_split_for(split, recipe.synth)
        missing = [k for k in wanted if not library.by_kind(k, assets)]
        if missing == wanted:
            raise CelebAMatError(
                f"split {split!r} draws occluders from the library's {assets!r} assets, and the library "
                f"({'bundled + ' if occ.bundled else ''}{len(occ.extra_libraries)} extra folder(s)) has none of "
                f"the kinds the recipe asks for ({', '.join(wanted)}): every {split} row would be a clean face. "
                f"Add {assets} assets (celebamat occluders import ... --split {assets}) or change "
                f"occluders.test_asset_splits")
        if missing:
            warnings.append(f"split {split!r}: no {assets} assets of kind {', '.join(missing)}; "
                            f"its rows draw the other requested kinds only")
    return warnings
