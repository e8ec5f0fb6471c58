"""End to end: teacher then student from the command line, evaluation, resume, two-process CPU DDP."""

import json
import os
import subprocess
import sys

import pytest
import torch

from facemat.checkpoint import load_model, read_checkpoint
from facemat.config import load_config
from facemat.train import train

FAST = ["--input-size", "64", "--batch-size", "4", "--device", "cpu", "--num-workers", "0",
        "--set", "optim.warmup_steps=2", "--set", "data.val_samples=4"]


def _cli(*args):
    proc = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, env=os.environ.copy(),
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_teacher_student_eval_cli(tiny_dataset, tmp_path):
    t_run, s_run = tmp_path / "teacher", tmp_path / "student"
    _cli("facemat.scripts.train", "--recipe", "recipes/facemat-teacher.toml", "--data", str(tiny_dataset),
         "--out", str(t_run), "--max-steps", "16", "--val-every", "8", *FAST)
    records = [json.loads(line) for line in (t_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [8, 16]
    assert records[-1]["train_loss"] < records[0]["train_loss"]
    assert (t_run / "sheets" / "step-0000016.png").is_file()
    saved = load_config(t_run / "config.toml")  # the resolved config is reusable as a recipe
    assert saved["optim"]["max_steps"] == 16 and saved["input_size"] == 64
    _cli("facemat.scripts.train", "--recipe", "recipes/facemat-student.toml", "--teacher", str(t_run),
         "--data", str(tiny_dataset), "--out", str(s_run), "--max-steps", "8", "--val-every", "4", *FAST)
    model, config = load_model(s_run / "model.safetensors")
    assert config["model"] == "student" and config["role"] == "student"
    # "auto" is resolved for this machine and saved, so a resume elsewhere keeps the run's teacher precision
    assert load_config(s_run / "config.toml")["optim"]["teacher_bf16"] in (True, False)
    out = _cli("facemat.scripts.evaluate", "--checkpoint", str(s_run / "model.safetensors"), "--data",
               str(tiny_dataset), "--split", "test", "--json", str(tmp_path / "eval.json")).stdout
    assert "SAD(whole,/1e3)" in out and "MSE(unknown,x1e3)" in out and "IoU(whole,@0.5)" in out
    result = json.loads((tmp_path / "eval.json").read_text())
    assert result["count"] == 8 and 0 <= result["iou"] <= 1 and result["sad_whole"] > 0


@pytest.mark.slow
def test_student_without_teacher_is_a_clear_error(tiny_dataset, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "facemat.scripts.train", "--recipe", "recipes/facemat-student.toml",
                           "--data", str(tiny_dataset), "--out", str(tmp_path / "s"), *FAST],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--teacher" in proc.stderr


def test_recipes_resolve():
    teacher, student = load_config("recipes/facemat-teacher.toml"), load_config("recipes/facemat-student.toml")
    assert (teacher["role"], teacher["model"]) == ("teacher", "teacher")
    assert (student["role"], student["model"]) == ("student", "student")
    assert student["loss"]["gt_weighting"] == "uncertainty"


def _config(data, out, **optim):
    cfg = load_config("recipes/facemat-teacher.toml", {
        "data.path": str(data), "out": str(out), "input_size": 64, "device": "cpu", "data.num_workers": 0,
        "data.val_samples": 2, "optim.batch_size": 4, "optim.max_steps": 6, "optim.warmup_steps": 2,
        "log.ckpt_every": 2, "log.val_every": 0})
    return cfg


class Interrupt(Exception):
    pass


@pytest.mark.slow
def test_interrupted_run_resumes_exactly(tiny_dataset, tmp_path):
    ref = train(_config(tiny_dataset, tmp_path / "ref"))

    def stop(step, _):
        if step == 3:
            raise Interrupt

    cut = tmp_path / "cut"
    with pytest.raises(Interrupt):
        train(_config(tiny_dataset, cut), on_step=stop)
    _, _, extra = read_checkpoint(cut / "checkpoints" / "last.safetensors")
    assert extra["step"] == 2
    steps = []
    train(_config(tiny_dataset, cut), on_step=lambda s, _: steps.append(s))  # resumes automatically
    assert steps == [3, 4, 5, 6]
    a, _, _ = read_checkpoint(ref / "model.safetensors")
    b, _, _ = read_checkpoint(cut / "model.safetensors")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=key)


@pytest.mark.slow
def test_two_process_cpu_ddp(tiny_dataset, tmp_path):
    run = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           "-m", "facemat.scripts.train", "--recipe", "recipes/facemat-teacher.toml",
                           "--data", str(tiny_dataset), "--out", str(run), "--max-steps", "4", "--val-every", "0",
                           *FAST], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _, config, extra = read_checkpoint(run / "checkpoints" / "last.safetensors")
    assert extra["step"] == 4
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 1  # rank 0 alone writes
