"""``facemat-train``: parse arguments, resolve the config, call :func:`facemat.train.train`."""

from __future__ import annotations

import argparse
import sys

from ..config import FLAG_KEYS, ConfigError, load_config, parse_value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="facemat-train",
        description="Train the FaceMat teacher or student. Config: defaults <- --recipe <- flags <- --set.",
    )
    p.add_argument("--recipe", help="training recipe (TOML), e.g. recipes/facemat-teacher.toml")
    p.add_argument("--data", help="dataset folder or Hub repo id")
    p.add_argument("--out", help="run folder (resumes automatically when it holds a checkpoint)")
    p.add_argument("--teacher", help="student runs: teacher run folder or checkpoint")
    p.add_argument("--encoder-weights", help="ImageNet weights in timm's layout for the MobileNetV3 encoder: "
                   "hf-hub:<repo id> (e.g. hf-hub:timm/mobilenetv3_small_100.lamb_in1k) or a .safetensors/.pth file")
    p.add_argument("--init-from", help="start from this FaceMat checkpoint or run folder (tensors matching by "
                   "name and shape, e.g. a student from a teacher of the same network)")
    p.add_argument("--resume", help="checkpoint to resume from (default: RUN/checkpoints/last.safetensors)")
    p.add_argument("--max-steps", type=int)
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--seed", type=int)
    p.add_argument("--num-workers", type=int)
    p.add_argument("--threads", type=int, help="torch intra-op threads (0 = one per core; 1 on a busy shared CPU)")
    p.add_argument("--input-size", type=int, help="training size in px (multiple of 32)")
    p.add_argument("--val-every", type=int, help="validate every N steps")
    p.add_argument("--ckpt-every", type=int, help="checkpoint every N steps")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any config key, dotted, value in TOML syntax (e.g. --set loss.beta=0.5)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {key: getattr(args, flag) for flag, key in FLAG_KEYS.items() if getattr(args, flag) is not None}
    for flag in ("max_steps", "epochs", "batch_size"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            hint = " (leave it out to let --epochs decide)" if flag == "max_steps" else ""
            print(f"facemat-train: error: --{flag.replace('_', '-')} must be at least 1, got {value}{hint}",
                  file=sys.stderr)
            return 2
    for item in args.set:
        if "=" not in item:
            print(f"facemat-train: --set needs KEY=VALUE, got {item!r}", file=sys.stderr)
            return 2
        key, value = item.split("=", 1)
        overrides[key.strip()] = parse_value(value.strip())
    try:
        config = load_config(args.recipe, overrides)
        from ..train import train

        run = train(config, resume=args.resume)
    except (ConfigError, ValueError, FileNotFoundError) as err:
        print(f"facemat-train: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a read-only run folder, one under a file, a full disk: one sentence
        where = f"{err.filename}: " if err.filename else ""
        print(f"facemat-train: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    print(f"run folder: {run}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
