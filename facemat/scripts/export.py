"""``facemat-export``: a checkpoint as an ONNX graph (checked against torch) and/or a TorchScript archive."""

from __future__ import annotations

import argparse
import json
import sys


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="facemat-export",
        description="Export a facemat checkpoint. The ONNX graph has dynamic batch, height and width, carries the "
        "checkpoint config in its metadata (so facemat-predict --checkpoint OUT.onnx works) and is compared "
        "with torch after export (max |alpha difference| must stay within 1e-4).",
    )
    p.add_argument("--checkpoint", default=None, help="facemat checkpoint (.safetensors), model or run folder, or "
                   "hf-hub:USER/NAME[@REV]; default: the bundled model")
    p.add_argument("--onnx", help="output .onnx file")
    p.add_argument("--torchscript", help="output TorchScript .pt file")
    p.add_argument("--no-verify", dest="verify", action="store_false", help="skip the ONNX Runtime vs torch check")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.onnx and not args.torchscript:
        parser.error("give --onnx OUT.onnx, --torchscript OUT.pt or both")
    from facemat.export import export_checkpoint
    from facemat.pretrained import resolve_model

    try:
        ref = resolve_model(args.checkpoint)
        print(ref.describe(), file=sys.stderr)
        summary = export_checkpoint(ref.checkpoint, args.onnx, args.torchscript, verify=args.verify)
    except (ValueError, OSError) as exc:
        print(f"facemat-export: error: {exc}", file=sys.stderr)
        return 2
    summary["model_source"] = ref.describe().removeprefix("model: ")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
