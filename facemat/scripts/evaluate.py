"""``facemat-eval``: evaluate a checkpoint on a dataset split and print the metric table."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="facemat-eval", description="Matting metrics of a FaceMat checkpoint "
                                "(DIM conventions; each column names its region and scale).")
    p.add_argument("--checkpoint", required=True, help="model.safetensors (or a training checkpoint)")
    p.add_argument("--data", required=True, help="dataset folder or Hub repo id")
    p.add_argument("--split", default="test")
    p.add_argument("--json", help="also write the results to this JSON file")
    p.add_argument("--input-size", type=int, help="inference size (default: the checkpoint's input_size)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--limit", type=int, default=0, help="evaluate only the first N rows")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ..checkpoint import CheckpointError
    from ..data import DataError
    from ..evaluate import evaluate, print_result

    try:
        result = evaluate(args.checkpoint, args.data, args.split, args.input_size, args.device, args.limit,
                          args.json, args.batch_size)
    except (CheckpointError, DataError, ValueError) as err:
        print(f"facemat-eval: error: {err}", file=sys.stderr)
        return 2
    print_result(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
