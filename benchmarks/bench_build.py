"""Build benchmark: throughput per worker, scaling, I/O floor, memory per worker, loky against Dask.

    python benchmarks/bench_build.py [--faces 48] [--samples 96] [--workers 2] [--size 512]

Works on a synthetic CelebAMask-HQ layout made from the demo faces (1024 px JPEGs and 512 px part masks, one
face per sample, as in the paper-scale build), so it needs nothing downloaded. Prints one JSON object:

- ``samples_per_s_per_worker``: build throughput with one worker, at ``--size``, one composite per face;
- ``speedup_1_to_N``: throughput with N workers over one worker (target >= 1.8 for N = 2 on 2 cores), end to
  end and ``_steady`` (after the first wave of shards, which carries worker start-up);
- ``io_floor_samples_per_s`` and ``floor_ratio``: the same run's I/O floor (decode the same source JPEG and
  part masks, encode the same outputs as PNG/JPEG, write parquet; nothing else) and build / floor per worker
  (target >= 0.5);
- ``peak_rss_mb_per_worker`` for the small and the doubled build (target: flat);
- ``dask_over_loky``: Dask throughput over loky at N workers (target >= 0.9), end to end (a local cluster
  starts inside the timing) and ``_steady``.

Every timed build starts fresh worker processes with no face loaded, and copies in a face scan made
beforehand, so it times exactly the shard work of a new build.
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

    # One composite per face, as in the paper-scale build (the face cache never helps).
    return recipe_from_dict({
        "name": "bench", "seed": 0,
        "faces": {"source": f"celebamask-hq:{layout}", "size": size},
        "splits": {"train": samples, "validation": 0, "test": 0, "assign": "face"},
        "output": {"rows_per_shard": rows_per_shard, "preview_samples": 0},
    })


def _fresh_workers() -> None:
    """Forget every loaded face and worker process, so a timed build starts as a new run would."""
    from joblib.externals.loky import get_reusable_executor

    from celebamat.dataset import shards

    get_reusable_executor().shutdown(wait=True)
    shards._FACES.clear()


def timed_build(recipe, out: Path, workers: int, scan: Path, backend: str = "loky") -> dict[str, float]:
    """Time the shard phase of a fresh build (the face scan is copied in, so it is not timed).

    Returns wall seconds, steady-state seconds per row (after the first wave of one shard per worker, which
    carries process start-up) and the workers' peak RSS.
    """
    from celebamat.dataset.build import build_dataset

    (out / ".celebamat").mkdir(parents=True)
    shutil.copy(scan, out / ".celebamat" / "faces.json")
    _fresh_workers()
    t0 = time.perf_counter()
    report = build_dataset(recipe, out, workers=workers, backend=backend, progress=False, finalize=False)
    wall = time.perf_counter() - t0
    tl = report.timeline
    k = min(workers, len(tl) - 1)
    steady_rows = sum(r for _, r in tl[k:])
    steady_s = tl[-1][0] - tl[k - 1][0] if k > 0 else tl[-1][0]
    rss = [json.loads(p.read_text())["peak_rss_mb"] for p in (out / ".celebamat" / "shards").glob("*.json")]
    return {"wall": wall, "rows_per_s": report.total / wall, "steady_rows_per_s": steady_rows / steady_s,
            "rss": max(rss)}


def scan_once(recipe, out: Path) -> Path:
    from celebamat.dataset.build import build_dataset

    build_dataset(recipe, out, workers=1, progress=False, finalize=False)
    return out / ".celebamat" / "faces.json"


def io_floor(layout: Path, samples: int, size: int, rows_per_shard: int, out: Path) -> float:
    """Seconds to decode the same sources and encode and write the same outputs, on one core."""
    from datasets.arrow_writer import ParquetWriter

    from celebamat.dataset.schema import features
    from celebamat.faces.io import read_image, read_mask
    from celebamat.utils.images import encode_jpeg, encode_png

    out.mkdir(parents=True, exist_ok=True)
    n_faces = len(list((layout / "CelebA-HQ-img").glob("*.jpg")))
    t0 = time.perf_counter()
    rows = []
    lm = np.zeros((478, 2), np.float32)
    for i in range(samples):
        n = i % n_faces
        img = read_image(layout / "CelebA-HQ-img" / f"{n}.jpg")
        masks = {m.stem.split("_", 1)[1]: read_mask(m) for m in
                 sorted((layout / "CelebAMask-HQ-mask-anno" / str(n // 2000)).glob(f"{n:05d}_*.png"))}
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        # The skin part stands in for the three mattes: 8-bit, mostly flat, like the real ones.
        matte = cv2.resize(np.round(masks["skin"] * 255).astype(np.uint8), (size, size),
                           interpolation=cv2.INTER_AREA)
        rows.append({
            "id": str(i), "image": {"bytes": encode_jpeg(img), "path": None},
            "alpha": {"bytes": encode_png(matte), "path": None}, "skin": {"bytes": encode_png(matte), "path": None},
            "occluder_alpha": {"bytes": encode_png(matte), "path": None}, "clean": {"bytes": encode_jpeg(img),
                                                                                   "path": None},
            "landmarks": lm, "occluders": [], "occluded_fraction": 0.0, "face_id": "", "identity": "",
            "source": "", "seed": 0, "split": "train", "params": "{}",
        })
        if len(rows) == rows_per_shard or i == samples - 1:
            with ParquetWriter(features=features(), path=str(out / f"floor-{i}.parquet")) as writer:
                for row in rows:
                    writer.write(row)
                writer.finalize()
            rows = []
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faces", type=int, default=0, help="faces in the layout (default: 2 x samples)")
    ap.add_argument("--samples", type=int, default=96)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--rows-per-shard", type=int, default=8)
    ap.add_argument("--skip-dask", action="store_true")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="celebamat-bench-"))
    try:
        layout = make_layout(tmp / "layout", max(args.faces, 2 * args.samples))
        r1 = recipe_for(layout, args.samples, args.size, args.rows_per_shard)
        r2 = recipe_for(layout, 2 * args.samples, args.size, args.rows_per_shard)
        scan = scan_once(r2, tmp / "scan")
        one = timed_build(r1, tmp / "w1", 1, scan)
        many = timed_build(r1, tmp / "wn", args.workers, scan)
        big = timed_build(r2, tmp / "big", 1, scan)
        floor = io_floor(layout, args.samples, args.size, args.rows_per_shard, tmp / "floor")
        n = args.workers
        result = {
            "size": args.size,
            "samples": args.samples,
            "cpu_count": os.cpu_count(),
            "samples_per_s_per_worker": round(one["rows_per_s"], 2),
            f"samples_per_s_{n}_workers": round(many["rows_per_s"], 2),
            f"speedup_1_to_{n}": round(one["wall"] / many["wall"], 3),
            f"speedup_1_to_{n}_steady": round(many["steady_rows_per_s"] / one["steady_rows_per_s"], 3),
            "io_floor_samples_per_s": round(args.samples / floor, 2),
            "floor_ratio": round(one["rows_per_s"] / (args.samples / floor), 3),
            "peak_rss_mb_per_worker": {f"{args.samples}_samples": round(one["rss"], 1),
                                       f"{2 * args.samples}_samples": round(big["rss"], 1),
                                       f"{n}_workers": round(many["rss"], 1)},
        }
        if not args.skip_dask:
            dask = timed_build(r1, tmp / "dask", n, scan, backend="dask")
            result[f"samples_per_s_dask_{n}_workers"] = round(dask["rows_per_s"], 2)
            result["dask_over_loky"] = round(dask["rows_per_s"] / many["rows_per_s"], 3)
            result["dask_over_loky_steady"] = round(dask["steady_rows_per_s"] / many["steady_rows_per_s"], 3)
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
