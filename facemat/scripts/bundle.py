"""``facemat-bundle``: a training run as a model folder (half-precision safetensors, config, ONNX, model card)."""

from __future__ import annotations

import argparse
import json
import sys


def build_parser() -> argparse.ArgumentParser:
    from facemat.pretrained import DEFAULT_MODEL

    p = argparse.ArgumentParser(
        prog="facemat-bundle",
        description="Package a facemat-train run as a model folder: model.safetensors (float16 unless --dtype "
        "float32; the few tensors whose rounding would move the mattes by more than 0.05 anywhere or 0.002 on "
        "average stay float32, refused past 10 % of the weights), config.json, "
        "model.onnx (checked against torch) and README.md, a Hub model card (training data and licences, recipe, "
        "commit, scores, limitations, intended use). Without --out it replaces the bundled default model "
        f"(facemat/weights/{DEFAULT_MODEL}), the one facemat-predict uses without --checkpoint.",
    )
    p.add_argument("run", metavar="RUN", help="run folder of facemat-train (its model.safetensors) or a checkpoint")
    p.add_argument("--out", help="model folder to write (default: the package's bundled default model folder)")
    p.add_argument("--name", help="model name in the card (default: the folder's name)")
    p.add_argument("--scores", action="append", default=[], metavar="JSON",
                   help="facemat-eval results for the card's score table (repeatable): `facemat-eval --data DATA "
                   "--json S.json` or `facemat-eval --benchmark KIND:DIR --baseline mesh-oval --out DIR` "
                   "(DIR/benchmark.json)")
    p.add_argument("--card-info", metavar="JSON", help="card fields: description, reproduce (the retraining "
                   "command), training_data, datasets, limitations, intended_use")
    p.add_argument("--dtype", choices=["float16", "float32"], default="float16", help="stored weights")
    p.add_argument("--commit", help="code commit named in the card (default: this checkout's HEAD)")
    p.add_argument("--no-onnx", dest="onnx", action="store_false", help="do not write model.onnx")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from facemat.bundle import bundle_run
    from facemat.pretrained import DEFAULT_MODEL, WEIGHTS_DIR

    out = args.out or str(WEIGHTS_DIR / DEFAULT_MODEL)
    try:
        result = bundle_run(args.run, out, name=args.name, scores=args.scores, card_info=args.card_info,
                            dtype=args.dtype, commit=args.commit, onnx=args.onnx)
    except (ValueError, OSError) as exc:
        print(f"facemat-bundle: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.summary()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
