"""``facemat-predict``: face mattes, overlays and face effects for photos, folders and videos."""

from __future__ import annotations

import argparse
import json
import sys


def build_parser() -> argparse.ArgumentParser:
    from facemat.effects import EFFECTS
    from facemat.runtime import RUNTIMES

    p = argparse.ArgumentParser(
        prog="facemat-predict",
        description="Find every face, predict its matte (1 = visible skin, 0 = occluders and background) on the "
        "aligned crop and paste it back. Writes <name>_alpha.png (8-bit, 255 = skin), <name>_overlay.png and, "
        "when asked, <name>_<effect>.png and <name>_uncertainty.png; videos give .mp4 files of the same names.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="photos, videos or folders of them")
    p.add_argument("--checkpoint", default=None,
                   help="a facemat checkpoint (.safetensors), exported .onnx, model folder, or hf-hub:USER/NAME[@REV] "
                   "(a published model); default: the bundled model (facemat-student-hands)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--effect", choices=sorted(EFFECTS), help="face effect composited behind the occluders")
    p.add_argument("--uncertainty", action="store_true", help="also write the uncertainty map (teacher only)")
    p.add_argument("--runtime", choices=RUNTIMES, default=None,
                   help="inference engine (default: onnx for a .onnx checkpoint, torch otherwise; onnx with a "
                   ".safetensors checkpoint exports <checkpoint>.onnx next to it first)")
    p.add_argument("--device", default="cpu", help="torch device for --runtime torch (default cpu)")
    p.add_argument("--threads", type=int, default=None, help="inference threads (default: one per core)")
    p.add_argument("--smooth", type=float, default=0.0,
                   help="temporal smoothing of video mattes, in [0, 1) (default 0 = off; 0.6 is a good start)")
    p.add_argument("--no-track", dest="track", action="store_false",
                   help="run the face detector on every video frame instead of tracking faces between frames")
    p.add_argument("--max-faces", type=int, default=4, help="most faces matted per frame (default 4)")
    p.add_argument("--hand-prior", action="store_true",
                   help="also cut the hands mediapipe's hand landmarker finds out of the matte (docs/predict.md)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from celebamat.errors import CelebAMatError
    from facemat.predict import predict_paths
    from facemat.runtime import load_runtime

    try:
        runtime = load_runtime(args.checkpoint, runtime=args.runtime, device=args.device, threads=args.threads)
        print(runtime.model_ref.describe(), file=sys.stderr)
        summaries = predict_paths(args.inputs, args.out, runtime, effect=args.effect, uncertainty=args.uncertainty,
                                  smooth=args.smooth, track=args.track, max_faces=args.max_faces,
                                  progress=not args.quiet, hand_prior=args.hand_prior)
    except (ValueError, OSError, CelebAMatError) as exc:
        print(f"facemat-predict: error: {exc}", file=sys.stderr)
        return 2
    failed = [s for s in summaries if "error" in s]
    for s in failed:
        print(f"facemat-predict: skipped {s['input']}: {s['error']}", file=sys.stderr)
    faces = sum(s.get("faces", s.get("frames_with_faces", 0)) for s in summaries)
    print(json.dumps({"inputs": len(summaries), "failed": len(failed), "faces_or_frames_with_faces": faces,
                      "out": args.out, "model": runtime.model_ref.describe().removeprefix("model: ")}))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
