"""Write one shard of a build atomically and record its checksum.

A task is one shard. The worker renders its rows (``rows``, through the process's caches in ``worker``),
streams them into ``data/.tmp-...``, renames the file into place, then records the shard's checksum in
``.celebamat/shards/``. Only a small summary goes back to the parent.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from celebamat.dataset.plan import ShardTask
from celebamat.dataset.recipe import Recipe
from celebamat.dataset.rows import render_row
from celebamat.dataset.schema import OCCLUSION_BINS
from celebamat.dataset.worker import configure_worker, peak_rss_mb
from celebamat.utils.io import atomic_write_text, sha256_file, temp_path

STATE_DIR = ".celebamat"


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
        peak_rss_mb=peak_rss_mb(),
        skipped=[{"face": k, "reason": exc.reason, "detail": exc.detail, "rows_replaced": replaced.get(k, 0)}
                 for k, exc in sorted(failed.items())],
        task=task.digest,
    )
    record = out / STATE_DIR / "shards" / (Path(task.name).name + ".json")
    record.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(record, json.dumps(summary.to_dict(), sort_keys=True))
    return summary.to_dict()
