"""A build worker's process: its one-time set-up and its caches of heavy, read-only inputs.

``configure_worker`` tunes the process (one OpenCV thread, glibc's allocator, loky's leak limit);
``source_for``/``library_for`` keep the face source and the occluder library of a recipe per process, and
``load_face`` keeps the faces loaded last. Rendering a row (``rows``), writing a shard (``shards``) and the
face scan (``scan``) run on top of these.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from celebamat.dataset.recipe import Recipe


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


def worker_memory(size: int) -> int:
    """Bytes a build worker needs for samples of ``size`` px: what ``--workers`` is capped by on one machine.

    Its peak RSS (``benchmarks/bench_build.py``, flat in the number of samples) grows with the frame: 416-430 MiB
    at 256 px, 571-594 MiB at 512 px, 1046-1111 MiB at 1024 px, about 420 MiB (the packages, the mesh model, the
    occluder library) plus 680 bytes a pixel (frame-sized float buffers), here with 15 % on top.
    """
    return int(1.15 * ((420 << 20) + 680 * size * size))


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
    parquet buffers: 0.4-1.1 GB in all, see :func:`worker_memory`), and a replaced worker pays its whole
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


def peak_rss_mb() -> float:
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
