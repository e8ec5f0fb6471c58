"""``facemat-eval``: metric table of a checkpoint on a dataset split, or on a real-photo benchmark."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="facemat-eval",
        description="Matting metrics of a FaceMat checkpoint (each column names its region and scale). "
                    "With --data: a CelebAMat split, aligned crops (DIM conventions). With --benchmark KIND:DIR: "
                    "real photos with visible-face masks, scored on the whole photo through facemat-predict's "
                    "path (find, align, predict, paste back), beside the occlusion-blind --baseline.",
        epilog="Benchmark kinds: folder:DIR (images/ + masks*/, or NAME.jpg beside NAME.mask.png), lapa:DIR "
               "(LaPa root or split), celebamask-hq:DIR (CelebAMask-HQ root). Protocol: docs/facemat.md.")
    p.add_argument("--checkpoint", help="model.safetensors (or a training checkpoint, an exported .onnx, a model "
                   "folder, or hf-hub:USER/NAME[@REV]); default: the bundled model")
    p.add_argument("--no-model", action="store_true", help="benchmark only: score the --baseline alone, no model")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="dataset folder or Hub repo id")
    src.add_argument("--benchmark", metavar="KIND:DIR", help="real-photo benchmark (folder, lapa, celebamask-hq)")
    p.add_argument("--baseline", action="append", default=[], choices=["mesh-oval"],
                   help="benchmark only: also score this baseline (mesh-oval: the filled face-mesh oval, "
                        "blind to occlusion)")
    p.add_argument("--out", help="benchmark only: write benchmark.json, benchmark.csv and errors.png here")
    p.add_argument("--sheet-rows", type=int, default=24, help="benchmark only: photos on the error sheet "
                   "(the worst ones when there are more)")
    p.add_argument("--hand-prior", action="store_true",
                   help="benchmark only: cut the hands mediapipe finds out of the model's matte (as facemat-predict)")
    p.add_argument("--split", default="test")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--input-size", type=int, help="inference size (default: the checkpoint's input_size)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--limit", type=int, default=0, help="evaluate only the first N rows / photos")
    return p


def run_benchmark_cli(args: argparse.Namespace) -> int:
    """The ``--benchmark`` mode: score, print the table beside the baseline, write the reports."""
    from ..io import atomic_write_json
    from ..realeval import format_rows, format_summary, run_benchmark, summarise, write_reports

    predictor, name, source = None, "model", ""
    if not args.no_model:
        from ..predict import Predictor
        from ..runtime import load_runtime

        runtime = load_runtime(args.checkpoint, device=args.device)
        predictor = Predictor(runtime, hand_prior=args.hand_prior)
        name, source = runtime.model_ref.label, runtime.model_ref.describe().removeprefix("model: ")
        print(runtime.model_ref.describe())
    baselines = tuple(dict.fromkeys(args.baseline))
    results, methods = run_benchmark(args.benchmark, predictor, baselines, args.limit, model_name=name,
                                     progress=True)
    failures = [r.name for r in results if r.failed]
    print(format_rows(results, methods))
    print()
    print(format_summary(summarise(results, methods), len(results), failures))
    extra = {"checkpoint": str(args.checkpoint or ""), "model": source}
    if args.out:
        doc = write_reports(args.out, args.benchmark, results, methods, extra, args.sheet_rows)
        print(f"wrote {args.out}/benchmark.json, benchmark.csv, errors.png")
        if args.json:
            atomic_write_json(args.json, doc)
    elif args.json:
        atomic_write_json(args.json, {"benchmark": args.benchmark, "count": len(results), "failures": failures,
                                      "means": summarise(results, methods), **extra,
                                      "rows": [r.row() for r in results]})
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from ..benchmarks import BenchmarkError
    from ..checkpoint import CheckpointError
    from ..data import DataError
    from ..runtime import RuntimeSetupError

    if args.no_model and args.checkpoint:
        parser.error("--no-model and --checkpoint exclude each other")
    try:
        if args.benchmark:
            return run_benchmark_cli(args)
        if args.baseline or args.out or args.no_model:
            parser.error("--baseline, --no-model and --out apply to --benchmark only")
        from ..evaluate import evaluate, print_result
        from ..pretrained import resolve_model

        ref = resolve_model(args.checkpoint)
        print(ref.describe())
        result = evaluate(ref.checkpoint, args.data, args.split, args.input_size, args.device, args.limit,
                          args.json, args.batch_size)
    except (BenchmarkError, CheckpointError, DataError, RuntimeSetupError, ValueError) as err:
        print(f"facemat-eval: error: {err}", file=sys.stderr)
        return 2
    print_result(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
