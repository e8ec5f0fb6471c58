"""Build benchmark: throughput per worker, scaling, I/O floor, memory per worker, loky against Dask.

    python benchmarks/bench_build.py [--faces 48] [--samples 96] [--workers 2] [--size 512]

Works on a synthetic CelebAMask-HQ layout made from the demo faces (1024 px JPEGs and 512 px part masks, one
face per sample, as in the paper-scale build), so it needs nothing downloaded. Prints one JSON object:

- ``samples_per_s_per_worker``: build throughput with one worker, at ``--size``;
- ``speedup_1_to_N``: throughput with N workers over one worker (target >= 1.8 for N = 2 on 2 cores);
- ``io_floor_samples_per_s`` and ``floor_ratio``: the same run's I/O floor (decode the same source JPEG and
  part masks, encode the same outputs as PNG/JPEG, write parquet; nothing else) and build / floor per worker
  (target >= 0.5);
- ``peak_rss_mb_per_worker`` for the small and the doubled build (target: flat);
- ``dask_over_loky``: Dask throughput over loky at N workers (target >= 0.9).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def make_layout(root: Path, n_faces: int) -> Path:
    """A CelebAMask-HQ-style folder from the demo faces: images 0..n-1 at 1024 px plus part masks."""
    from PIL import Image

    from celebamat.faces import open_source
    from celebamat.landmarks import EYE_LEFT_RING, EYE_RIGHT_RING, FACE_OVAL, LIPS_OUTER, face_anchors

    src = open_source("demo", size=512)
    keys = src.keys()
    (root / "CelebA-HQ-img").mkdir(parents=True)
    mapping = ["idx orig_idx orig_file"]
    ident = []
    for n in range(n_faces):
        rec = src.load(keys[n % len(keys)])
        img = cv2.resize(rec.image, (1024, 1024), interpolation=cv2.INTER_CUBIC)
        Image.fromarray(img).save(root / "CelebA-HQ-img" / f"{n}.jpg", quality=95)
        ann = root / "CelebAMask-HQ-mask-anno" / str(n // 2000)
        ann.mkdir(parents=True, exist_ok=True)
        pts = rec.landmarks.astype(np.float64)

        def poly(idx):
            m = np.zeros((512, 512), np.uint8)
            cv2.fillPoly(m, [np.round(pts[list(idx)]).astype(np.int32)], 255)
            return m

        parts = {"skin": poly(FACE_OVAL), "l_eye": poly(EYE_LEFT_RING), "r_eye": poly(EYE_RIGHT_RING),
                 "u_lip": poly(LIPS_OUTER)}
        hair = np.zeros((512, 512), np.uint8)
        hair[: int(face_anchors(pts)["forehead"][1])] = 255
        parts["hair"] = hair
        for p, m in parts.items():
            Image.fromarray(m).save(ann / f"{n:05d}_{p}.png")
        mapping.append(f"{n} {n} {n:06d}.jpg")
        ident.append(f"{n:06d}.jpg {n // 2}")
    (root / "CelebA-HQ-to-CelebA-mapping.txt").write_text("\n".join(mapping) + "\n")
    (root / "identity_CelebA.txt").write_text("\n".join(ident) + "\n")
    return root


def recipe_for(layout: Path, samples: int, size: int, rows_per_shard: int):
    from celebamat.dataset.recipe import recipe_from_dict

    return recipe_from_dict({
        "name": "bench", "seed": 0,
        "faces": {"source": f"celebamask-hq:{layout}", "size": size},
        "splits": {"train": samples, "validation": 0, "test": 0, "assign": "sample"},
        "output": {"rows_per_shard": rows_per_shard, "preview_samples": 0},
    })


def timed_build(recipe, out: Path, workers: int, backend: str = "loky") -> tuple[float, float]:
    """Seconds for the shard phase of a build (faces already scanned), and the peak RSS of the workers."""
    from celebamat.dataset.build import build_dataset

    # Scan once (cached in the output folder), then drop the shards and time only the shard work.
    build_dataset(recipe, out, workers=workers, backend=backend, progress=False, finalize=False)
    shutil.rmtree(out / "data")
    shutil.rmtree(out / ".celebamat" / "shards")
    t0 = time.perf_counter()
    build_dataset(recipe, out, workers=workers, backend=backend, progress=False, finalize=False)
    secs = time.perf_counter() - t0
    rss = [json.loads(p.read_text())["peak_rss_mb"] for p in (out / ".celebamat" / "shards").glob("*.json")]
    return secs, max(rss)


def io_floor(layout: Path, samples: int, size: int, rows_per_shard: int, out: Path) -> float:
    """Seconds to decode the same sources and encode and write the same outputs, on one core."""
    import datasets
    import pyarrow.parquet as pq

    from celebamat.dataset.schema import features
    from celebamat.faces.io import read_image, read_mask
    from celebamat.utils.images import encode_jpeg, encode_png

    datasets.disable_progress_bars()
    out.mkdir(parents=True, exist_ok=True)
    n_faces = len(list((layout / "CelebA-HQ-img").glob("*.jpg")))
    t0 = time.perf_counter()
    rows = []
    lm = np.zeros((478, 2), np.float32)
    for i in range(samples):
        n = i % n_faces
        img = read_image(layout / "CelebA-HQ-img" / f"{n}.jpg")
        for m in sorted((layout / "CelebAMask-HQ-mask-anno" / str(n // 2000)).glob(f"{n:05d}_*.png")):
            read_mask(m)
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        matte = img[..., 0]
        rows.append({
            "id": str(i), "image": {"bytes": encode_jpeg(img), "path": None},
            "alpha": {"bytes": encode_png(matte), "path": None}, "skin": {"bytes": encode_png(matte), "path": None},
            "occluder_alpha": {"bytes": encode_png(matte), "path": None}, "clean": {"bytes": encode_jpeg(img),
                                                                                   "path": None},
            "landmarks": lm, "occluders": [], "occluded_fraction": 0.0, "face_id": "", "identity": "",
            "source": "", "seed": 0, "split": "train", "params": "{}",
        })
        if len(rows) == rows_per_shard or i == samples - 1:
            table = datasets.Dataset.from_list(rows, features=features()).data.table
            pq.write_table(table, out / f"floor-{i}.parquet")
            rows = []
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faces", type=int, default=48)
    ap.add_argument("--samples", type=int, default=96)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--rows-per-shard", type=int, default=8)
    ap.add_argument("--skip-dask", action="store_true")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="celebamat-bench-"))
    try:
        layout = make_layout(tmp / "layout", args.faces)
        r1 = recipe_for(layout, args.samples, args.size, args.rows_per_shard)
        r2 = recipe_for(layout, 2 * args.samples, args.size, args.rows_per_shard)
        t1, rss1 = timed_build(r1, tmp / "w1", 1)
        tn, rssn = timed_build(r1, tmp / "wn", args.workers)
        _, rss_big = timed_build(r2, tmp / "big", 1)
        floor = io_floor(layout, args.samples, args.size, args.rows_per_shard, tmp / "floor")
        result = {
            "size": args.size,
            "samples": args.samples,
            "cpu_count": os.cpu_count(),
            "samples_per_s_per_worker": round(args.samples / t1, 2),
            f"samples_per_s_{args.workers}_workers": round(args.samples / tn, 2),
            f"speedup_1_to_{args.workers}": round(t1 / tn, 3),
            "io_floor_samples_per_s": round(args.samples / floor, 2),
            "floor_ratio": round(floor / t1, 3),
            "peak_rss_mb_per_worker": {f"{args.samples}_samples": round(rss1, 1),
                                       f"{2 * args.samples}_samples": round(rss_big, 1),
                                       f"{args.workers}_workers": round(rssn, 1)},
        }
        if not args.skip_dask:
            td, _ = timed_build(r1, tmp / "dask", args.workers, backend="dask")
            result[f"samples_per_s_dask_{args.workers}_workers"] = round(args.samples / td, 2)
            result["dask_over_loky"] = round(tn / td, 3)
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
