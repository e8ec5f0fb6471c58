"""Build benchmark: throughput per worker, scaling, I/O floor, memory per worker, loky against Dask.

    python benchmarks/bench_build.py [--samples 2048] [--workers 2] [--size 512] [--skip-dask]

Works on a synthetic CelebAMask-HQ layout made from the demo faces (1024 px JPEGs and 512 px part masks, one
composite per face, as in the paper-scale build), so it needs nothing downloaded. Every timed build is a whole
build (face scan included) in a fresh Python process, so it pays what a user's ``celebamat build`` pays:
imports, the face mesh model, the occluder library, worker start-up. Prints one JSON object:

- ``samples_per_s_per_worker``: build throughput with one worker, at ``--size``;
- ``speedup_1_to_N``: throughput with N workers over one worker (target >= 1.8 for N = 2 on 2 cores);
- ``io_floor_samples_per_s`` and ``floor_ratio``: the same run's I/O floor (decode the same source JPEG and
  part masks, encode the same outputs as PNG/JPEG, write parquet; nothing else, on one core; the faster of a
  measurement before and one after the builds) and one-worker build throughput over it (target >= 0.5);
- ``peak_rss_mb_per_worker``: one worker, N workers, and N workers on twice the samples (target: flat);
- ``dask_over_loky``: Dask throughput over loky at N workers, the local cluster's start-up included (target
  >= 0.9).

Each figure also comes ``_steady``: measured after the first wave of shards (one per worker), so without
start-up; the difference is what a short build pays once.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def make_layout(root: Path, n_faces: int) -> Path:
    from celebamat.faces.celebamask_layout import write_celebamask_layout

    return write_celebamask_layout(root, n_faces)


def recipe_for(layout: Path, samples: int, size: int, rows_per_shard: int):
    from celebamat.dataset.recipe import recipe_from_dict

    # One composite per face, as in the paper-scale build (the face cache never helps).
    return recipe_from_dict({
        "name": "bench", "seed": 0,
        "faces": {"source": f"celebamask-hq:{layout}", "size": size},
        "splits": {"train": samples, "validation": 0, "test": 0, "assign": "face"},
        "output": {"rows_per_shard": rows_per_shard, "preview_samples": 0},
    })


def _child(spec: dict) -> dict:
    """Run one timed build in this (fresh) process; see :func:`timed_build`."""
    from celebamat.dataset.build import build_dataset

    recipe = recipe_for(Path(spec["layout"]), spec["samples"], spec["size"], spec["rows_per_shard"])
    out = Path(spec["out"])
    t0 = time.perf_counter()
    report = build_dataset(recipe, out, workers=spec["workers"], backend=spec["backend"], progress=False,
                           finalize=False)
    wall = time.perf_counter() - t0
    tl = report.timeline
    k = min(spec["workers"], len(tl) - 1)
    steady_rows = sum(r for _, r in tl[k:])
    steady_s = tl[-1][0] - tl[k - 1][0] if k > 0 else tl[-1][0]
    rss = [json.loads(p.read_text())["peak_rss_mb"] for p in (out / ".celebamat" / "shards").glob("*.json")]
    return {"wall": wall, "rows_per_s": report.total / wall, "steady_rows_per_s": steady_rows / steady_s,
            "rss": max(rss)}


def timed_build(layout: Path, samples: int, size: int, rows_per_shard: int, out: Path, workers: int,
                backend: str = "loky") -> dict[str, float]:
    """Time a whole build (face scan and shards; not the card) in a fresh Python process.

    Returns wall seconds, rows per second end to end and in steady state (after the first wave of one shard
    per worker, which carries process start-up), and the workers' peak RSS in MiB.
    """
    os.sync()  # the previous step's writes are not flushed on this one's time
    spec = {"layout": str(layout), "samples": samples, "size": size, "rows_per_shard": rows_per_shard,
            "out": str(out), "workers": workers, "backend": backend}
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"timed build failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def io_floor(layout: Path, samples: int, size: int, rows_per_shard: int, out: Path) -> float:
    """Seconds to decode the same sources and encode and write the same outputs, on one core."""
    from celebamat.dataset.parquet import ShardWriter
    from celebamat.dataset.schema import features
    from celebamat.dataset.worker import configure_worker
    from celebamat.faces.io import read_image, read_mask_u8
    from celebamat.faces.skin import CELEBAMASK_PARTS
    from celebamat.utils.images import encode_jpeg, encode_png

    configure_worker()  # the same process settings as a build worker (one OpenCV thread, heap thresholds)
    out.mkdir(parents=True, exist_ok=True)
    n_faces = len(list((layout / "CelebA-HQ-img").glob("*.jpg")))
    # Which mask files each face has is listed before the clock starts: the floor is decoding and encoding.
    masks_of = {}
    for n in range(min(samples, n_faces)):
        folder = layout / "CelebAMask-HQ-mask-anno" / str(n // 2000)
        masks_of[n] = [p for p in (folder / f"{n:05d}_{part}.png" for part in CELEBAMASK_PARTS) if p.exists()]
    os.sync()
    t0 = time.perf_counter()
    rows = []
    lm = np.zeros((478, 2), np.float32)
    for i in range(samples):
        n = i % n_faces
        img = read_image(layout / "CelebA-HQ-img" / f"{n}.jpg")
        masks = {m.stem.split("_", 1)[1]: read_mask_u8(m) for m in masks_of[n]}
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        # The skin part stands in for the three mattes: 8-bit, mostly flat, like the real ones.
        matte = cv2.resize(masks["skin"], (size, size), interpolation=cv2.INTER_AREA)
        rows.append({
            "id": str(i), "image": {"bytes": encode_jpeg(img), "path": None},
            "alpha": {"bytes": encode_png(matte), "path": None}, "skin": {"bytes": encode_png(matte), "path": None},
            "occluder_alpha": {"bytes": encode_png(matte), "path": None}, "clean": {"bytes": encode_jpeg(img),
                                                                                   "path": None},
            "landmarks": lm, "occluders": [], "occluded_fraction": 0.0, "face_id": "", "identity": "",
            "source": "", "skin_source": "annotation:celebamask-hq", "seed": 0, "split": "train", "params": "{}",
        })
        if len(rows) == rows_per_shard or i == samples - 1:
            with ShardWriter(out / f"floor-{i}.parquet", features()) as writer:  # the build's own writer
                for row in rows:
                    writer.write(row)
            rows = []
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=2048)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--rows-per-shard", type=int, default=16)
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="celebamat-bench-"))
    n, rps = args.workers, args.rows_per_shard
    try:
        layout = make_layout(tmp / "layout", 2 * args.samples)
        # The floor is measured before and after the builds and the faster kept: a floor caught in a slow
        # moment of the machine would flatter the ratio.
        floor_n = min(args.samples, 512)
        floors = [io_floor(layout, floor_n, args.size, rps, tmp / "floor-a")]
        one = timed_build(layout, args.samples, args.size, rps, tmp / "w1", 1)
        many = timed_build(layout, args.samples, args.size, rps, tmp / "wn", n)
        big = timed_build(layout, 2 * args.samples, args.size, rps, tmp / "big", n)
        floors.append(io_floor(layout, floor_n, args.size, rps, tmp / "floor-b"))
        floor_rate = floor_n / min(floors)
        result = {
            "size": args.size,
            "samples": args.samples,
            "cpu_count": os.cpu_count(),
            "samples_per_s_per_worker": round(one["rows_per_s"], 2),
            "samples_per_s_per_worker_steady": round(one["steady_rows_per_s"], 2),
            f"samples_per_s_{n}_workers": round(many["rows_per_s"], 2),
            f"speedup_1_to_{n}": round(one["wall"] / many["wall"], 3),
            f"speedup_1_to_{n}_steady": round(many["steady_rows_per_s"] / one["steady_rows_per_s"], 3),
            "io_floor_samples_per_s": round(floor_rate, 2),
            "floor_ratio": round(one["rows_per_s"] / floor_rate, 3),
            "floor_ratio_steady": round(one["steady_rows_per_s"] / floor_rate, 3),
            "peak_rss_mb_per_worker": {"1_worker": round(one["rss"], 1),
                                       f"{n}_workers_{args.samples}_samples": round(many["rss"], 1),
                                       f"{n}_workers_{2 * args.samples}_samples": round(big["rss"], 1)},
        }
        if not args.skip_dask:
            dask = timed_build(layout, args.samples, args.size, rps, tmp / "dask", n, backend="dask")
            result[f"samples_per_s_dask_{n}_workers"] = round(dask["rows_per_s"], 2)
            result["dask_over_loky"] = round(dask["rows_per_s"] / many["rows_per_s"], 3)
            result["dask_over_loky_steady"] = round(dask["steady_rows_per_s"] / many["steady_rows_per_s"], 3)
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
