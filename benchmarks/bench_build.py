"""Build benchmark: throughput per worker, scaling, I/O floor, memory per worker, loky against Dask.

    python benchmarks/bench_build.py [--samples 2048] [--workers 2] [--size 512] [--skip-dask]
                                     [--cluster-workers N] [--only-cluster] [--layout CELEBAMASK_HQ_DIR]
                                     [--repeat K]

Works on a synthetic CelebAMask-HQ layout made from the demo faces (1024 px JPEGs and 512 px part masks, one
composite per face, as in the paper-scale build), so it needs nothing downloaded; ``--layout`` times your own copy
of CelebAMask-HQ instead (at least twice ``--samples`` photos; its part masks may cost far more to decode than the
synthetic layout's five grayscale ones, see docs/building.md). Every timed build is a whole
build (face scan included) in a fresh Python process, so it pays what a user's ``celebamat build`` pays:
imports, the face mesh model, the occluder library, worker start-up. Prints one JSON object:

- ``samples_per_s_per_worker``: build throughput with one worker, at ``--size``;
- ``speedup_1_to_N``: throughput with N workers over one worker (target >= 1.8 for N = 2 on 2 cores);
- ``io_floor_samples_per_s`` and ``floor_ratio``: the same run's I/O floor (decode the same source JPEG and
  part masks, encode the same outputs as PNG/JPEG (or, like the build, keep a photo already at ``--size`` as its
  file's bytes for the clean image), write parquet; nothing else, on one core; the faster of a
  measurement before and one after the builds) and one-worker build throughput over it (target >= 0.5);
- ``peak_rss_mb_per_worker``: one worker, N workers, and N workers on twice the samples (target: flat);
- ``dask_over_loky``: Dask throughput over loky at N workers, the local cluster's start-up included (target
  >= 0.9).

- with ``--cluster-workers N``: a Dask cluster started as on several machines (``dask scheduler`` in one
  process, N ``dask worker ... --nthreads 1 --nworkers 1`` processes, each as if on its own machine; see
  :func:`external_cluster`), a build at its address with ``--workers N``, and the loky build at N workers:
  ``external_dask_samples_per_s_per_worker``, ``loky_samples_per_s_per_worker_{N}_workers``,
  ``external_dask_over_loky`` (target >= 0.9, like the local cluster), and ``external_dask_bytes_identical``
  (every shard's sha256 equal to the loky build's; the benchmark fails otherwise). ``--only-cluster`` measures
  this part alone (with the floor and the other builds left out).

With ``--repeat K`` the one-worker, the N-worker and the Dask builds are each timed K times, alternated, and their
figures are medians (the peak RSS the largest), with every run's throughput, speed-up and Dask / loky ratio under
``runs``: on a shared machine single builds of the same code differ by 10-30 %.

Each figure also comes ``_steady``: measured after the first wave of shards (one per worker), so without
start-up; the difference is what a short build pays once.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

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
    report = build_dataset(recipe, out, workers=spec["workers"], backend=spec["backend"],
                           scheduler=spec.get("scheduler"), progress=False, finalize=False)
    wall = time.perf_counter() - t0
    tl = report.timeline
    k = min(spec["workers"], len(tl) - 1)
    steady_rows = sum(r for _, r in tl[k:])
    steady_s = tl[-1][0] - tl[k - 1][0] if k > 0 else tl[-1][0]
    rss = [json.loads(p.read_text())["peak_rss_mb"] for p in (out / ".celebamat" / "shards").glob("*.json")]
    return {"wall": wall, "rows_per_s": report.total / wall, "steady_rows_per_s": steady_rows / steady_s,
            "rss": max(rss)}


def timed_build(layout: Path, samples: int, size: int, rows_per_shard: int, out: Path, workers: int,
                backend: str = "loky", scheduler: str | None = None) -> dict[str, float]:
    """Time a whole build (face scan and shards; not the card) in a fresh Python process.

    Returns wall seconds, rows per second end to end and in steady state (after the first wave of one shard
    per worker, which carries process start-up), and the workers' peak RSS in MiB.
    """
    os.sync()  # the previous step's writes are not flushed on this one's time
    spec = {"layout": str(layout), "samples": samples, "size": size, "rows_per_shard": rows_per_shard,
            "out": str(out), "workers": workers, "backend": backend, "scheduler": scheduler}
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True,
                          text=True, check=False, env=_env_with_repo())
    if done.returncode != 0:
        raise RuntimeError(f"timed build failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


#: The repository this script belongs to: cluster workers import celebamat from it, as the build does.
REPO = Path(__file__).resolve().parents[1]

#: Environment of a cluster worker process (set at launch, as docs/building.md asks of users): one thread for
#: the numerical libraries (what Dask's nanny sets too, and what loky gives workers that fill the cores), and
#: the background settings of celebamat's local cluster (no profiler, monitors once a second).
WORKER_ENV = {
    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
    "DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL": "2s",
    "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "1s",
    "DASK_DISTRIBUTED__WORKER__MEMORY__MONITOR_INTERVAL": "1s",
}


def _env_with_repo() -> dict[str, str]:
    """This environment with :data:`REPO` first on ``PYTHONPATH``: builds and cluster workers run this code."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO)] + ([path] if path else []))}


def _stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM each process group (a worker's nanny and its worker process), then SIGKILL what is left."""
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)  # the group: also a worker process its nanny left behind
        p.wait()


@contextlib.contextmanager
def external_cluster(workers: int, folder: Path, timeout: float = 120) -> Iterator[str]:
    """A Dask cluster started the way a user starts one across machines; yields the scheduler's address.

    ``dask scheduler`` in one process and ``workers`` × ``dask worker ADDRESS --nthreads 1 --nworkers 1
    --memory-limit 0`` (each with its nanny, in its own process group, as if on its own machine), with
    :data:`WORKER_ENV` and celebamat importable from this repository. Returns once every worker has joined;
    every process is stopped on the way out, however the block ends (errors and Ctrl-C included).
    """
    folder.mkdir(parents=True, exist_ok=True)
    env = {**_env_with_repo(), **WORKER_ENV}
    scheduler_file = folder / "scheduler.json"
    procs: list[subprocess.Popen] = []

    def launch(args: list[str], log: str) -> None:
        with open(folder / log, "wb") as f:
            procs.append(subprocess.Popen([sys.executable, "-m", *args], stdout=f, stderr=subprocess.STDOUT, env=env,
                                          cwd=folder, start_new_session=True))

    try:
        launch(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                "--scheduler-file", str(scheduler_file)], "scheduler.log")
        deadline = time.monotonic() + timeout
        while not scheduler_file.exists():
            if procs[0].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Dask scheduler did not start:\n{(folder / 'scheduler.log').read_text()}")
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written whole, but give it a moment
        address = json.loads(scheduler_file.read_text())["address"]
        for i in range(workers):
            launch(["distributed.cli.dask_worker", address, "--nthreads", "1", "--nworkers", "1", "--memory-limit",
                    "0", "--no-dashboard", "--host", "127.0.0.1", "--name", f"machine-{i}",
                    "--local-directory", str(folder / f"machine-{i}")], f"worker-{i}.log")
        from distributed import Client

        with Client(address, timeout=timeout) as client:  # the build is timed on a cluster already up
            client.wait_for_workers(workers, timeout=timeout)
        yield address
    finally:
        _stop(procs)


def shard_digests(out: Path) -> dict[str, str]:
    """sha256 of every shard of a build, by file name."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((out / "data").glob("*.parquet"))}


def external_dask(layout: Path, samples: int, size: int, rps: int, tmp: Path, n: int,
                  loky: dict[str, float] | None = None) -> dict:
    """The ``--cluster-workers`` figures: a build at an external cluster of ``n`` workers against loky's at ``n``
    (``loky``, when that build was already timed into ``tmp / "wn"``)."""
    loky_out = tmp / "wn"
    if loky is None:
        loky_out = tmp / f"loky-{n}"
        loky = timed_build(layout, samples, size, rps, loky_out, n)
    with external_cluster(n, tmp / "cluster") as address:
        ext = timed_build(layout, samples, size, rps, tmp / "external", n, backend="dask", scheduler=address)
    ref, got = shard_digests(loky_out), shard_digests(tmp / "external")
    if not ref or ref != got:
        differ = sorted(k for k in set(ref) | set(got) if ref.get(k) != got.get(k))
        raise RuntimeError(f"the external cluster's shards differ from loky's: {differ[:5]} ({len(differ)} in all)")
    return {
        "cluster_workers": n,
        "external_dask_samples_per_s_per_worker": round(ext["rows_per_s"] / n, 2),
        "external_dask_samples_per_s_per_worker_steady": round(ext["steady_rows_per_s"] / n, 2),
        f"loky_samples_per_s_per_worker_{n}_workers": round(loky["rows_per_s"] / n, 2),
        f"loky_samples_per_s_per_worker_{n}_workers_steady": round(loky["steady_rows_per_s"] / n, 2),
        "external_dask_over_loky": round(ext["rows_per_s"] / loky["rows_per_s"], 3),
        "external_dask_over_loky_steady": round(ext["steady_rows_per_s"] / loky["steady_rows_per_s"], 3),
        "external_dask_peak_rss_mb_per_worker": round(ext["rss"], 1),
        "external_dask_bytes_identical": True,
        "external_dask_shards": len(got),
        # What the shared storage takes per sample (the demo faces' layout; CelebAMask-HQ's photos are alike).
        "shard_mb_per_sample": round(sum(p.stat().st_size for p in (tmp / "external" / "data").glob("*.parquet"))
                                     / samples / 1e6, 3),
    }


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
        path, info = layout / "CelebA-HQ-img" / f"{n}.jpg", {}
        img = read_image(path, info=info)
        masks = {m.stem.split("_", 1)[1]: read_mask_u8(m) for m in masks_of[n]}
        # As the build: a photo already at the build's size is stored as its file's bytes, not encoded again.
        clean = path.read_bytes() if img.shape[0] == size and info.get("verbatim") else None
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        # The skin part stands in for the three mattes: 8-bit, mostly flat, like the real ones.
        matte = cv2.resize(masks["skin"], (size, size), interpolation=cv2.INTER_AREA)
        rows.append({
            "id": str(i), "image": {"bytes": encode_jpeg(img), "path": None},
            "alpha": {"bytes": encode_png(matte), "path": None}, "skin": {"bytes": encode_png(matte), "path": None},
            "occluder_alpha": {"bytes": encode_png(matte), "path": None},
            "clean": {"bytes": clean if clean is not None else encode_jpeg(img), "path": None},
            "landmarks": lm, "occluders": [], "occluded_fraction": 0.0, "face_id": "", "identity": "",
            "source": "", "skin_source": "annotation:celebamask-hq", "seed": 0, "split": "train", "params": "{}",
        })
        if len(rows) == rows_per_shard or i == samples - 1:
            with ShardWriter(out / f"floor-{i}.parquet", features()) as writer:  # the build's own writer
                for row in rows:
                    writer.write(row)
            rows = []
    return time.perf_counter() - t0


def median_build(builds: list[dict[str, float]]) -> dict[str, float]:
    """The median of each figure of several :func:`timed_build` results (the largest peak RSS)."""
    return {k: (max if k == "rss" else statistics.median)(b[k] for b in builds) for k in builds[0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=2048)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--rows-per-shard", type=int, default=16)
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--cluster-workers", type=int, default=0, metavar="N",
                    help="also time a build at a Dask cluster of N worker processes started as on N machines")
    ap.add_argument("--only-cluster", action="store_true",
                    help="only the --cluster-workers part (and the loky build it is compared with)")
    ap.add_argument("--layout", help="a CelebAMask-HQ folder to build from (default: a synthetic one of the demo "
                    "faces); it needs at least twice --samples photos")
    ap.add_argument("--repeat", type=int, default=1, metavar="K",
                    help="time the one-worker, the N-worker and the Dask build K times each, alternated, and "
                    "report each figure's median, every run under 'runs' (a shared machine moves single builds by "
                    "10-30 %%)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    # The floor and the layout run in this process: they use this repository's celebamat, as the builds do,
    # whichever one is installed (comparing two versions of the code means running each one's copy of this file).
    sys.path.insert(0, str(REPO))
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return 0
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    if args.only_cluster and args.cluster_workers < 1:
        ap.error("--only-cluster needs --cluster-workers N")
    # SIGTERM (a killed job) unwinds like Ctrl-C, so the cluster's processes and the temporary folder go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    tmp = Path(tempfile.mkdtemp(prefix="celebamat-bench-"))
    n, rps = args.workers, args.rows_per_shard
    try:
        if args.layout:
            layout = Path(args.layout)
            photos = len(list((layout / "CelebA-HQ-img").glob("*.jpg")))
            if photos < 2 * args.samples:
                ap.error(f"--layout {layout} has {photos} photos in CelebA-HQ-img; the builds need "
                         f"{2 * args.samples} (twice --samples, one composite per face)")
        else:
            layout = make_layout(tmp / "layout", 2 * args.samples)  # the same layout in both modes
        if args.only_cluster:
            result = {"size": args.size, "samples": args.samples, "cpu_count": os.cpu_count(),
                      **external_dask(layout, args.samples, args.size, rps, tmp, args.cluster_workers)}
            print(json.dumps(result, indent=2))
            return 0
        # The floor is measured before and after the builds and the faster kept: a floor caught in a slow
        # moment of the machine would flatter the ratio.
        floor_n = min(args.samples, 512)
        floors = [io_floor(layout, floor_n, args.size, rps, tmp / "floor-a")]
        ones, manys, dasks = [], [], []
        for k in range(args.repeat):  # alternated, so a drift of the machine touches every figure alike
            last = k == args.repeat - 1
            ones.append(timed_build(layout, args.samples, args.size, rps, tmp / ("w1" if last else f"w1-{k}"), 1))
            manys.append(timed_build(layout, args.samples, args.size, rps, tmp / ("wn" if last else f"wn-{k}"), n))
            if not args.skip_dask:
                dasks.append(timed_build(layout, args.samples, args.size, rps, tmp / f"dask-{k}", n, backend="dask"))
            if not last:
                for name in (f"w1-{k}", f"wn-{k}", f"dask-{k}"):
                    shutil.rmtree(tmp / name, ignore_errors=True)
        one, many = median_build(ones), median_build(manys)
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
        if args.repeat > 1:
            result["runs"] = {
                "samples_per_s_per_worker": [round(b["rows_per_s"], 2) for b in ones],
                "samples_per_s_per_worker_steady": [round(b["steady_rows_per_s"], 2) for b in ones],
                f"speedup_1_to_{n}": [round(a["wall"] / b["wall"], 3) for a, b in zip(ones, manys)],
                f"speedup_1_to_{n}_steady": [round(b["steady_rows_per_s"] / a["steady_rows_per_s"], 3)
                                            for a, b in zip(ones, manys)],
            }
            if dasks:
                result["runs"]["dask_over_loky"] = [round(d["rows_per_s"] / b["rows_per_s"], 3)
                                                    for b, d in zip(manys, dasks)]
        if dasks:
            dask = median_build(dasks)
            result[f"samples_per_s_dask_{n}_workers"] = round(dask["rows_per_s"], 2)
            result["dask_over_loky"] = round(dask["rows_per_s"] / many["rows_per_s"], 3)
            result["dask_over_loky_steady"] = round(dask["steady_rows_per_s"] / many["steady_rows_per_s"], 3)
        if args.cluster_workers:
            m = args.cluster_workers
            result.update(external_dask(layout, args.samples, args.size, rps, tmp, m, many if m == n else None))
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
