"""``celebamat build``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build",
        help="build a dataset from a recipe (parallel, deterministic, resumable)",
        description="Build CelebAMat from a recipe into a Hugging Face dataset folder. With no options it builds "
        "the 'demo' recipe from the embedded demo faces into ./celebamat-data. Re-running the same command "
        "resumes an interrupted build. Exit code 1: built, but some faces were skipped (each named with its "
        "reason); 2: an error.",
    )
    p.add_argument("--recipe", default="demo", help="bundled recipe name or path to a .toml (default: demo)")
    p.add_argument("--faces", default=None, help="face source: demo, folder:DIR or celebamask-hq:ROOT "
                   "(overrides the recipe)")
    p.add_argument("--out", default=None, help="output folder (default: ./celebamat-data)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default: 1; more than cores is fine); "
                   "with --scheduler, the worker threads to wait for before starting")
    p.add_argument("--samples", type=int, default=None, help="total samples, split in the recipe's proportions")
    p.add_argument("--seed", type=int, default=None, help="root seed (overrides the recipe)")
    p.add_argument("--backend", choices=("loky", "dask"), default="loky", help="joblib backend (default: loky)")
    p.add_argument("--scheduler", default=None, help="Dask scheduler address (with --backend dask), e.g. "
                   "tcp://HOST:8786; its workers must see --out and the faces at the same paths (docs/building.md, "
                   "'Many machines'); default: a local cluster of --workers processes")
    p.add_argument("--overwrite", action="store_true", help="replace a build of another recipe in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from celebamat.dataset.build import DEFAULT_OUT, build_dataset
    from celebamat.dataset.recipe import load_recipe

    recipe = load_recipe(args.recipe).with_overrides(faces=args.faces, samples=args.samples, seed=args.seed)
    report = build_dataset(
        recipe,
        args.out or DEFAULT_OUT,
        workers=args.workers,
        backend=args.backend,
        scheduler=args.scheduler,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    print(report.summary())
    print(f"load it with: datasets.load_dataset({str(report.out)!r})")
    return 1 if report.skipped else 0  # 1: built, but some faces were skipped (named above)
