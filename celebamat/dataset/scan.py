"""The face scan of a build: which faces of the source load, with their identities, and why the others do not.

``scan_faces`` vets a chunk of keys in a worker; ``scan_build_faces`` runs it over the whole source for a
build (cached in the output folder); ``build_splits_of`` gives the split of each identity a build would use
(the occluder harvest follows it).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from celebamat.dataset.cluster import run_tasks
from celebamat.dataset.plan import make_plan
from celebamat.dataset.recipe import Recipe
from celebamat.dataset.shards import STATE_DIR
from celebamat.dataset.worker import configure_worker, load_face, source_for, worker_memory
from celebamat.errors import CelebAMatError, FaceSkipped
from celebamat.utils.io import atomic_write_text

log = logging.getLogger("celebamat.build")

_FACE_SCAN_CHUNK = 64


def scan_faces(recipe: Recipe, keys: list[str]) -> list[dict[str, Any]]:
    """Vet each face (``FaceSource.check``); returns ``{"key", "ok", "identity", "reason", "detail"}`` per key
    (worker side)."""
    configure_worker()
    source = source_for(recipe)
    out = []
    for key in keys:
        try:
            # A full load is kept in the worker's face cache, where the shards that follow may find it.
            identity = source.check(key) if source.light_check else load_face(source, key).identity
            out.append({"key": key, "ok": True, "identity": identity, "reason": "", "detail": ""})
        except FaceSkipped as exc:
            out.append({"key": key, "ok": False, "identity": None, "reason": exc.reason, "detail": exc.detail})
    return out


def scan_build_faces(recipe: Recipe, out: Path, workers: int, backend: str, progress: bool) -> list[dict[str, Any]]:
    """The scan of every face of the recipe's source for a build into ``out`` (``scan_faces`` over chunks of
    keys, in ``workers`` processes), kept in ``.celebamat/faces.json`` until the source's files change."""
    from tqdm.auto import tqdm

    cache = out / STATE_DIR / "faces.json"
    source = source_for(recipe)
    signature = source.signature()
    if cache.exists():
        try:
            cached = json.loads(cache.read_text(encoding="utf-8"))
            if cached.get("signature") == signature:
                return list(cached["faces"])
            log.info("the faces of %s changed since the last scan: scanning again", recipe.faces.source)
        except (OSError, UnicodeDecodeError, ValueError, AttributeError, KeyError, TypeError) as exc:
            # A cache only: scanning again rebuilds it.
            log.warning("the face scan cache %s is corrupt (%s): scanning the faces again", cache, exc)
    keys = source.keys()
    chunks = [keys[i : i + _FACE_SCAN_CHUNK] for i in range(0, len(keys), _FACE_SCAN_CHUNK)]
    results: list[dict[str, Any]] = []
    with tqdm(total=len(keys), desc="scanning faces", unit="face", disable=not progress) as bar:
        for part in run_tasks(_ScanTask(recipe), chunks, workers, backend, worker_memory(recipe.faces.size)):
            results.extend(part)
            bar.update(len(part))
    results.sort(key=lambda r: r["key"])
    atomic_write_text(cache, json.dumps({"signature": signature, "faces": results}, sort_keys=True))
    return results


class _ScanTask:
    def __init__(self, recipe: Recipe) -> None:
        self.recipe = recipe

    def __call__(self, keys: list[str]) -> list[dict[str, Any]]:
        return scan_faces(self.recipe, keys)


def build_splits_of(recipe: Any, root: Path) -> dict[str, str]:
    """Identity -> split of the faces a build of ``recipe`` on this CelebAMask-HQ root would use.

    Runs the build's own face scan and split assignment (:func:`scan_faces`, :func:`~celebamat.dataset.plan.make_plan`), so harvested
    occluders can follow it: a test identity's occluders are test assets, a train identity's train assets.

    Raises:
        CelebAMatError: when the recipe does not assign identity-disjoint splits.
    """
    from celebamat.dataset.recipe import load_recipe

    r = load_recipe(recipe) if isinstance(recipe, (str, Path)) else recipe
    r = r.with_overrides(faces=f"celebamask-hq:{root}")
    if r.splits.assign != "identity":
        raise CelebAMatError(f"recipe {r.name!r} assigns splits by {r.splits.assign!r}; harvested occluders can "
                             "follow a build's splits only when it assigns them by identity")
    scan = scan_faces(r, source_for(r).keys())
    usable = [(x["key"], x["identity"]) for x in scan if x["ok"]]
    plan = make_plan(r, usable)
    ident = dict(usable)
    return {(ident[k] or k): split for split, keys in plan.faces.items() for k in keys}
