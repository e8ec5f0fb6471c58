"""Worker side of a build: render the rows of one shard and write it atomically.

A task is one shard. The worker loads what it needs (face source, occluder library, faces) once per process,
renders its rows, writes ``data/.tmp-...`` and renames it into place, then records the shard's checksum in
``.celebamat/shards/``. Only a small summary goes back to the parent.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from celebamat.dataset.plan import ShardTask
from celebamat.dataset.recipe import Recipe
from celebamat.utils.io import atomic_write_text, sha256_file, temp_path
from celebamat.utils.images import encode_jpeg, encode_png

STATE_DIR = ".celebamat"
#: Edges of the occluded-fraction histogram kept per shard (for the card's statistics).
OCCLUSION_BINS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0001)


@dataclass
class ShardSummary:
    """What a worker sends back: counts and checksums, never pixels."""

    path: str
    split: str
    index: int
    rows: int
    sha256: str
    bytes: int
    seconds: float
    kinds: dict[str, int] = field(default_factory=dict)
    subtypes: dict[str, int] = field(default_factory=dict)
    occluders_per_sample: dict[str, int] = field(default_factory=dict)
    occlusion_hist: list[int] = field(default_factory=list)
    pid: int = 0
    peak_rss_mb: float = 0.0
    #: Faces that failed to load here (after passing the scan), with the rows that used a replacement.
    skipped: list[dict[str, Any]] = field(default_factory=list)
    #: :attr:`ShardTask.digest` of the task that wrote it (a resume keeps the shard only for the same task).
    task: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Per-process caches of heavy, read-only inputs (sources hold file indexes, libraries hold decoded assets).
@lru_cache(maxsize=4)
def _source(spec: str, size: int, options_json: str):
    from celebamat.faces import open_source

    return open_source(spec, size=size, **json.loads(options_json))


@lru_cache(maxsize=4)
def _library(bundled: bool, extra: tuple[str, ...]):
    from celebamat.occluders.asset import bundled_library_dir, load_library

    paths = ([bundled_library_dir()] if bundled else []) + [Path(p) for p in extra]
    return load_library(paths)


@lru_cache(maxsize=1)
def configure_worker() -> None:
    """Per-process set-up of a build worker (idempotent).

    - A worker is one core: OpenCV's own thread pool would otherwise compete with the other workers.
    - Rendering allocates and frees many frame-sized float buffers. Dask's workers start with
      ``MALLOC_TRIM_THRESHOLD_`` set, which freezes glibc's mmap threshold at 128 KiB, so every buffer becomes
      an mmap/munmap pair and page faults double the render time; raising the thresholds at run time restores
      heap reuse under any launcher, including clusters we do not start.
    """
    import ctypes

    import cv2

    cv2.setNumThreads(1)
    _keep_loky_worker()
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)
    libc.mallopt(m_trim_threshold, 128 << 20)


#: Growth past its first task after which loky replaces a build worker as leaking (loky's default: 300 MB).
LOKY_LEAK_LIMIT = 2 << 30


def _keep_loky_worker() -> None:
    """Raise loky's memory-leak limit for this process to :data:`LOKY_LEAK_LIMIT` (no effect outside loky).

    loky measures a worker's memory after its first task and replaces the worker once it has grown 300 MB past
    that. A build worker grows that much by design while it fills its caches (faces, assets, the mesh model,
    parquet buffers: about 600 MB in all, see ``build.WORKER_MEMORY``), and a replaced worker pays its whole
    start-up again and warns of a leak. (Turning the check off instead would make loky run a full garbage
    collection after every task.)
    """
    try:
        from joblib.externals.loky import process_executor
    except ImportError:
        return
    if getattr(process_executor, "_MAX_MEMORY_LEAK_SIZE", LOKY_LEAK_LIMIT) < LOKY_LEAK_LIMIT:
        process_executor._MAX_MEMORY_LEAK_SIZE = LOKY_LEAK_LIMIT


def source_for(recipe: Recipe):
    return _source(recipe.faces.source, recipe.faces.size, json.dumps(recipe.faces.options, sort_keys=True))


def library_for(recipe: Recipe):
    occ = recipe.synth.occluders
    return _library(occ.bundled, tuple(occ.extra_libraries))


class _FaceCache:
    """Small LRU of loaded faces per source: consecutive rows often reuse faces (always, for the demo source).

    Keyed by the source object as well as the face key: two sources (another folder, other options) may use
    the same keys for different faces.
    """

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self._items: dict[tuple[int, str], Any] = {}
        self._sources: dict[int, Any] = {}  # keeps each keyed source alive, so its id is never reused

    def get(self, source, key: str):
        k = (id(source), key)
        if k in self._items:
            face = self._items.pop(k)
        else:
            face = source.load_usable(key)
            if len(self._items) >= self.capacity:
                self._items.pop(next(iter(self._items)))
            self._sources[id(source)] = source
        self._items[k] = face
        return face

    def clear(self) -> None:
        self._items.clear()
        self._sources.clear()


_FACES = _FaceCache()


def load_face(source, key: str):
    """The loaded face ``key`` of ``source`` (a ``FaceRecord``), through this process's cache of recent faces,
    the one build workers use: consecutive calls for the same face load it once.

    Raises:
        FaceSkipped: the source refuses the face (a refusal is not cached: the next call tries again).
    """
    return _FACES.get(source, key)


_REPLACE_STREAM = 0x5EB5


def face_for_row(
    source, key: str, index: int, pool: tuple[str, ...], seed: int, failed: dict[str, Any]
) -> Any:
    """The face of sample ``index``: ``key``, or when it fails to load, the first face of ``pool`` that loads,
    in an order drawn from ``(seed, index)`` (so the same for any worker). ``failed`` collects the faces
    that failed (key -> ``FaceSkipped``), and is consulted before trying a face again.
    """
    from celebamat.errors import CelebAMatError, FaceSkipped

    candidates = [key]
    for attempt in range(2):
        for k in candidates:
            if k in failed:
                continue
            try:
                return _FACES.get(source, k)
            except FaceSkipped as exc:
                failed[k] = exc
        if attempt == 0:
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), _REPLACE_STREAM, int(index)]))
            candidates = [pool[i] for i in rng.permutation(len(pool))]
    raise CelebAMatError(f"sample {index}: face {key} failed to load and so did every other face of its split "
                         f"({len(pool)}); first fault: {next(iter(failed.values()))}")


def render_row(
    recipe: Recipe, split: str, row: int, index: int, key: str, pool: tuple[str, ...] = (),
    failed: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], Any]:
    """Render sample ``index`` (row ``row`` of ``split``) from face ``key`` (or its replacement from ``pool``
    when it fails to load); returns (row dict, params)."""
    source, library = source_for(recipe), library_for(recipe)
    face = face_for_row(source, key, index, pool or (key,), recipe.seed, {} if failed is None else failed)
    return render_face_row(recipe, library, face, split, row, index)


def render_face_row(recipe: Recipe, library: Any, face: Any, split: str, row: int, index: int
                    ) -> tuple[dict[str, Any], Any]:
    """Render and encode sample ``index`` (row ``row`` of ``split``) of ``recipe`` on a loaded ``face``;
    returns (row dict, params).

    Raises:
        CelebAMatError: when the sample fails a check of ``celebamat verify`` (a bug, never written).
    """
    from celebamat.dataset.verify import sample_faults
    from celebamat.errors import CelebAMatError
    from celebamat.synth.render import render
    from celebamat.synth.sampling import sample_params, sample_rng, sample_seed

    seed = sample_seed(recipe.seed, index)
    params = sample_params(sample_rng(recipe.seed, index), face, library, recipe.synth, split=split, seed=seed)
    assets = {op.asset_id: library.get(op.asset_id) for op in params.occluders}
    s = render(face, assets, params)
    landmarks = (face.landmarks / float(face.size)).astype(np.float32)
    faults = sample_faults(s.alpha, s.skin, s.occluder_alpha, bool(params.occluders), landmarks)
    if faults:
        raise CelebAMatError(f"sample {index} ({split} row {row}, face {face.face_id}) would fail verify: "
                             + "; ".join(f"[{k}] {m}" for k, m in faults) + "; please report this bug")
    out = recipe.output
    enc = (lambda im: encode_jpeg(im, out.jpeg_quality)) if out.image_format == "jpeg" else encode_png
    skin_sum = int(s.skin.sum(dtype=np.int64))  # exact integer sums of the 8-bit mattes
    frac = 1.0 - int(s.alpha.sum(dtype=np.int64)) / skin_sum if skin_sum > 0 else 0.0
    row_dict = {
        "id": f"{split}-{row:07d}",
        # A sample compressed by its params keeps those JPEG bytes: a second compression would only lose more.
        "image": {"bytes": s.image_jpeg if out.image_format == "jpeg" and s.image_jpeg else enc(s.image),
                  "path": None},
        "alpha": {"bytes": encode_png(s.alpha), "path": None},
        "skin": {"bytes": encode_png(s.skin), "path": None},
        "occluder_alpha": {"bytes": encode_png(s.occluder_alpha), "path": None},
        "clean": {"bytes": enc(s.clean), "path": None} if out.store_clean else None,
        "landmarks": landmarks,
        "occluders": [
            {
                "kind": op.kind,
                "subtype": op.subtype,
                "asset_id": op.asset_id,
                "transform": list(op.transform),
                "opacity": op.opacity,
                "mirrored": op.mirrored,
                "depth": op.depth,
                "tone_transfer": op.tone_transfer,
                "light_match": op.light_match,
                "shadow_opacity": op.shadow_opacity,
                "defocus_sigma": op.defocus_sigma,
                "motion_blur": op.motion_blur,
            }
            for op in params.occluders
        ],
        "occluded_fraction": max(0.0, frac),
        "face_id": face.face_id,
        "identity": face.identity or "",
        "source": face.source,
        "skin_source": face.skin_source,
        "seed": seed,
        "split": split,
        "params": params.to_json(),
    }
    return row_dict, params


def write_shard(recipe: Recipe, task: ShardTask, out_dir: str) -> dict[str, Any]:
    """Render and write one shard; returns its :class:`ShardSummary` as a dict.

    The parquet file appears under its final name only when complete (temporary name, then rename), and
    its checksum is recorded in ``.celebamat/shards/<name>.json`` the same way, so a killed build loses at
    most the shards in flight.
    """
    from celebamat.dataset.parquet import ShardWriter
    from celebamat.dataset.schema import features

    configure_worker()
    t0 = time.perf_counter()
    out = Path(out_dir)
    kinds, subtypes, per_sample = Counter(), Counter(), Counter()
    hist = np.zeros(len(OCCLUSION_BINS) - 1, dtype=np.int64)
    failed: dict[str, Any] = {}
    replaced: dict[str, int] = {}
    final = out / task.name
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(final)
    try:
        # Rows stream into the parquet file (typed by the features, their metadata included) under a temporary
        # name until the shard is complete.
        with ShardWriter(tmp, features()) as writer:
            for i, (index, key) in enumerate(task.rows):
                row, params = render_row(recipe, task.split, task.start + i, index, key, task.pool, failed)
                if row["face_id"] != key:
                    replaced[key] = replaced.get(key, 0) + 1
                writer.write(row)
                per_sample[str(len(params.occluders))] += 1
                for op in params.occluders:
                    kinds[op.kind] += 1
                    subtypes[f"{op.kind}/{op.subtype}"] += 1
                hist += np.histogram([row["occluded_fraction"]], bins=OCCLUSION_BINS)[0]
        # No fsync: kill -9 loses nothing that was written, and after a machine crash the resume's checksum
        # check finds a shard whose bytes did not reach the disk and writes it again.
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    summary = ShardSummary(
        path=task.name,
        split=task.split,
        index=task.index,
        rows=len(task.rows),
        sha256=sha256_file(final),
        bytes=final.stat().st_size,
        seconds=time.perf_counter() - t0,
        kinds=dict(sorted(kinds.items())),
        subtypes=dict(sorted(subtypes.items())),
        occluders_per_sample=dict(sorted(per_sample.items())),
        occlusion_hist=[int(x) for x in hist],
        pid=os.getpid(),
        peak_rss_mb=_peak_rss_mb(),
        skipped=[{"face": k, "reason": exc.reason, "detail": exc.detail, "rows_replaced": replaced.get(k, 0)}
                 for k, exc in sorted(failed.items())],
        task=task.digest,
    )
    record = out / STATE_DIR / "shards" / (Path(task.name).name + ".json")
    record.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(record, json.dumps(summary.to_dict(), sort_keys=True))
    return summary.to_dict()


def _peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (VmHWM: unlike ru_maxrss it does not carry over a parent's
    peak into a freshly exec'd worker)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def scan_faces(recipe: Recipe, keys: list[str]) -> list[dict[str, Any]]:
    """Vet each face (``FaceSource.check``); returns ``{"key", "ok", "identity", "reason", "detail"}`` per key
    (worker side)."""
    from celebamat.errors import FaceSkipped

    configure_worker()
    source = source_for(recipe)
    out = []
    for key in keys:
        try:
            # A full load is kept in the worker's face cache, where the shards that follow may find it.
            identity = source.check(key) if source.light_check else _FACES.get(source, key).identity
            out.append({"key": key, "ok": True, "identity": identity, "reason": "", "detail": ""})
        except FaceSkipped as exc:
            out.append({"key": key, "ok": False, "identity": None, "reason": exc.reason, "detail": exc.detail})
    return out
