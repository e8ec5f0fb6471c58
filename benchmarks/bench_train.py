"""Training throughput of the FaceMat teacher and student, and of the data loader; prints JSON.

    python benchmarks/bench_train.py [--data DIR_OR_REPO] [--sizes 256 512] [--steps 3] [--workers 2]
                                     [--threads N] [--no-channels-last] [--bf16] [--teacher-bf16 auto|on|off]
                                     [--roles teacher student]

Without --data, a synthetic CelebAMat-format folder of 512 px rows is written to a temporary directory
(tests/facemat/synthetic.py). Training images/s: forward + backward + AdamW step (teacher: NLL + L1 +
Laplacian; student: distillation with the teacher's outputs included), after one warm-up step. Loader
images/s: decoded, augmented batches at 256 px with the given workers. The loader must beat training.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch


def bench_train(role: str, size: int, batch: int, steps: int, channels_last: bool = False,
                bf16: bool = False, teacher_bf16: bool | str = "auto") -> float:
    """Training images/s of one role: forward (and the teacher's, for a student), loss, backward, AdamW step,
    with the memory format, optimiser and CPU autocast facemat-train uses for ``optim.channels_last``,
    ``optim.cpu_bf16`` and ``optim.teacher_bf16``."""
    from contextlib import nullcontext

    from facemat.config import DEFAULTS
    from facemat.losses import student_loss, teacher_loss
    from facemat.models import create_model
    from facemat.precision import make_optimizer, resolve_teacher_bf16, teacher_autocast

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = create_model(role).train().to(memory_format=fmt)
    teacher = create_model("teacher").eval().to(memory_format=fmt) if role == "student" else None
    opt = make_optimizer(model.parameters(), 1e-4, 1e-4, torch.device("cpu"))
    teacher_precision = teacher_autocast(resolve_teacher_bf16(teacher_bf16, torch.device("cpu")))
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, 3, size, size, generator=gen).contiguous(memory_format=fmt)
    y = (torch.rand(batch, 1, size, size, generator=gen) > 0.5).float()
    elapsed = 0.0
    for i in range(steps + 1):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext():
            out = model(x)
            if teacher is not None:
                with torch.no_grad(), teacher_precision:
                    t_out = {k: v.float() for k, v in teacher(x).items()}
                loss = student_loss(out, y, t_out, DEFAULTS["loss"])["total"]
            else:
                loss = teacher_loss(out, y, DEFAULTS["loss"])["total"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:  # the first step warms up allocators and kernels
            elapsed += time.perf_counter() - t0
    return steps * batch / elapsed


def bench_loader(data: str, size: int, batch: int, workers: int, batches: int) -> float:
    from facemat.config import DEFAULTS
    from facemat.data import EpochSampler, MattingDataset, load_split, make_loader

    ds = MattingDataset(load_split(data, "train"), size, DEFAULTS["augment"], seed=0)
    loader = make_loader(ds, batch, workers, EpochSampler(len(ds), 0))
    it = iter(loader)
    next(it)  # worker start-up is paid once per epoch, not per batch
    t0, n = time.perf_counter(), 0
    for _ in range(batches):
        n += next(it)["image"].shape[0]
    return n / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data")
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default, one per core)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                   help="NHWC model and batches, as optim.channels_last (default: on)")
    p.add_argument("--bf16", action="store_true", help="CPU bfloat16 autocast, as optim.cpu_bf16")
    p.add_argument("--teacher-bf16", choices=["auto", "on", "off"], default="auto",
                   help="the student's frozen teacher in bf16, as optim.teacher_bf16 (default: auto)")
    p.add_argument("--roles", nargs="+", default=["teacher", "student"])
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    data = args.data
    if data is None:
        os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="bench-hf-")
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "facemat"))
        from synthetic import make_dataset

        data = str(make_dataset(tempfile.mkdtemp(prefix="bench-data-"), {"train": 64, "validation": 4, "test": 4},
                                size=512))
    from facemat.precision import resolve_teacher_bf16

    teacher_bf16 = {"auto": "auto", "on": True, "off": False}[args.teacher_bf16]
    result = {"torch_threads": torch.get_num_threads(), "batch": args.batch, "channels_last": args.channels_last,
              "bf16": args.bf16, "teacher_bf16": resolve_teacher_bf16(teacher_bf16, torch.device("cpu")),
              "load_average": os.getloadavg()[0], "train_images_per_s": {}}
    for role in args.roles:
        for size in args.sizes:
            result["train_images_per_s"][f"{role}@{size}"] = round(
                bench_train(role, size, args.batch, args.steps, args.channels_last, args.bf16, teacher_bf16), 2)
    result["loader_images_per_s@256"] = round(bench_loader(data, 256, args.batch, args.workers, 12), 2)
    result["loader_workers"] = args.workers
    fastest = max((v for k, v in result["train_images_per_s"].items() if k.endswith("@256")), default=0.0)
    result["loader_keeps_up_at_256"] = result["loader_images_per_s@256"] > fastest
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
