"""The bundled library: which assets the generators make, and writing them reproducibly."""

from __future__ import annotations

import importlib
import multiprocessing
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from celebamat.occluders.asset import KINDS, OccluderAsset, write_asset
from celebamat.utils.cpu import baseline_cpu_env

#: Default seed of the committed library (recorded in every asset's ``source``).
DEFAULT_SEED = 1234
LICENSE = "CC0-1.0"
#: kind -> [(subtype, count)]; the order fixes ids and random streams, so append only.
PLAN: dict[str, list[tuple[str, int]]] = {
    "hand": [("cover_mouth", 10), ("on_cheek", 9), ("chin_rest", 8), ("over_eyes", 9), ("finger_on_lips", 8),
             ("peace_sign", 8), ("holding", 8)],
    "hair": [("fringe", 20), ("lock", 24), ("strand", 16), ("curtain", 12)],
    "accessory": [("eyeglasses", 14), ("sunglasses", 12), ("face_mask", 12), ("cap", 6), ("hat", 6), ("scarf", 6),
                  ("microphone", 5), ("phone", 5), ("cup", 5), ("straw", 4), ("pen", 4), ("cigarette", 4)],
    "translucent": [("smoke", 8), ("steam", 6), ("veil", 6), ("lace", 6), ("net", 5), ("water", 5),
                    ("plastic", 2), ("glass", 2)],
    "texture": [("shape", 40)],
}
_MODULES = {"hand": "hands", "hair": "hair", "accessory": "accessories", "translucent": "translucent",
            "texture": "translucent"}
TEST_EVERY = 5  # one asset in five (by running index within its kind) goes to the test split


@dataclass(frozen=True)
class PlanEntry:
    kind: str
    subtype: str
    index: int  # within the subtype
    kind_index: int  # running index within the kind

    @property
    def asset_id(self) -> str:
        return f"{self.kind}-{self.subtype}-{self.index:03d}"

    @property
    def split(self) -> str:
        return "test" if self.kind_index % TEST_EVERY == TEST_EVERY - 1 else "train"


def plan_library() -> list[PlanEntry]:
    """Every asset of the bundled library, in generation order."""
    out = []
    for kind in KINDS:
        k = 0
        for subtype, n in PLAN[kind]:
            for i in range(n):
                out.append(PlanEntry(kind, subtype, i, k))
                k += 1
    return out


def render_entry(entry: PlanEntry, seed: int) -> tuple[dict, np.ndarray]:
    """Metadata and ``(h, w, 4)`` uint8 pixels of one planned asset; pure function of (entry, seed)."""
    ss = np.random.SeedSequence([int(seed), KINDS.index(entry.kind), [s for s, _ in PLAN[entry.kind]].index(entry.subtype),
                                 entry.index])
    rng = np.random.default_rng(ss)
    mod = importlib.import_module(f"celebamat.occluders.generators.{_MODULES[entry.kind]}")
    meta, rgba = mod.generate(rng, entry.index, entry.subtype)
    meta = dict(meta)
    meta.update({"id": entry.asset_id, "kind": entry.kind, "subtype": entry.subtype, "split": entry.split,
                 "license": LICENSE,
                 "source": f"celebamat procedural generator {entry.kind} v1, seed {int(seed)}"})
    meta.setdefault("mirror", True)
    meta.setdefault("zones", [])
    return meta, rgba


def _render_and_write(job: tuple[PlanEntry, int, str]) -> OccluderAsset:
    entry, seed, out_dir = job
    return write_asset(out_dir, *render_entry(entry, seed))


@contextmanager
def _baseline_pool(workers: int) -> Iterator[Any]:
    """A pool of fresh processes whose NumPy and OpenCV run their baseline kernels (see
    :mod:`celebamat.utils.cpu`); the switches must be in the environment before those libraries load, so the
    workers are spawned with them."""
    env = baseline_cpu_env()
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        pool = multiprocessing.get_context("spawn").Pool(workers)  # starts every worker now, with env
    finally:
        os.environ.clear()
        os.environ.update(saved)
    with pool:
        yield pool


def generate_library(out_dir: str | Path, seed: int = DEFAULT_SEED, kinds: list[str] | None = None,
                     progress: bool = True, ids: list[str] | None = None, workers: int = 1) -> list[OccluderAsset]:
    """Write the procedural library (PNG + JSON per asset) into ``out_dir``; byte-identical for a seed.

    Args:
        out_dir: destination folder (created).
        seed: root seed; each asset draws from ``SeedSequence([seed, kind, subtype, index])``, so any
            single asset can be regenerated alone.
        kinds: restrict to these kinds (default: all).
        ids: restrict to these asset ids (default: all).
        workers: processes rendering assets. They run NumPy's and OpenCV's baseline kernels, so the bytes are
            the same on any x86-64 CPU (SIMD transcendental functions differ in the last bits between CPUs,
            and in a few hands such a difference decides which part of the surface is on top at a pixel).

    Raises:
        ValueError: ``workers`` below 1, or an id in ``ids`` that the plan does not have.
    """
    from tqdm.auto import tqdm

    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    plan = plan_library()
    if ids is not None:
        unknown = sorted(set(ids) - {e.asset_id for e in plan})
        if unknown:
            raise ValueError(f"no planned asset {unknown[0]!r} ({len(unknown)} unknown ids); ids look like "
                             f"{plan[0].asset_id!r}")
    entries = [e for e in plan if (kinds is None or e.kind in kinds) and (ids is None or e.asset_id in ids)]
    jobs = [(e, int(seed), str(out_dir)) for e in entries]
    if not jobs:
        return []
    assets = []
    with tqdm(total=len(jobs), desc="occluders", unit="asset", disable=not progress) as bar, _baseline_pool(min(workers, len(jobs))) as pool:
        for asset in pool.imap(_render_and_write, jobs):
            assets.append(asset)
            bar.update()
    return assets
