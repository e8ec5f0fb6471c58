"""Issue 13's facemat defects: writes are atomic (a crash mid-write leaves the previous file whole), and a torch
runtime's uncertainty is decided by the network, not by its name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from facemat.checkpoint import save_checkpoint
from facemat.config import load_config, save_config
from facemat.models import create_model
from facemat.predict import Predictor, predict_paths
from facemat.runtime import TorchRuntime, load_runtime


@pytest.fixture
def crash_mid_write(monkeypatch):
    """Every Path.write_text writes half its text, then fails (a full disk, a killed process)."""
    real = Path.write_text

    def half(self, data, *args, **kwargs):
        real(self, data[: len(data) // 2], *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half)


def _only_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def test_resolved_config_survives_a_crash(tmp_path, request):
    cfg = load_config(None, {"out": str(tmp_path)})
    save_config(cfg, tmp_path)
    before = {n: (tmp_path / n).read_text() for n in ("config.toml", "config.json")}
    request.getfixturevalue("crash_mid_write")
    cfg["seed"] = 123
    with pytest.raises(OSError):
        save_config(cfg, tmp_path)
    assert {n: (tmp_path / n).read_text() for n in before} == before
    assert _only_files(tmp_path) == ["config.json", "config.toml"]  # no temporary file left


def test_atomic_writes_keep_the_usual_permissions(tmp_path):
    import os

    from facemat.io import atomic_write_text

    mask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644  # as open() would create it, not mkstemp's 0600


def test_eval_json_survives_a_crash(tmp_path, tiny_dataset, request):
    from facemat.evaluate import evaluate

    ckpt = save_checkpoint(tmp_path / "m.safetensors", create_model("student"),
                           {"model": "student", "model_kwargs": {}, "input_size": 64})
    out = tmp_path / "eval" / "result.json"
    evaluate(ckpt, str(tiny_dataset), limit=2, json_out=out)
    before = out.read_text()
    result = json.loads(before)
    assert result["count"] == 2
    # the rows carry skin and occluder_alpha: how much of the bars lying on the discs the model cuts
    assert result["occluder_pixels"] > 0 and 0.0 <= result["occluder_cut"] <= 1.0
    request.getfixturevalue("crash_mid_write")
    with pytest.raises(OSError):
        evaluate(ckpt, str(tiny_dataset), limit=3, json_out=out)
    assert out.read_text() == before
    assert _only_files(out.parent) == ["result.json"]


class _Flat:
    input_size = 64
    config = {"model": "flat", "input_size": 64}
    has_uncertainty = False

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        return {"alpha": np.zeros((batch.shape[0], 1, *batch.shape[2:]), np.float32)}


def test_predictions_json_survives_a_crash(tmp_path, request):
    src = tmp_path / "in" / "grey.png"
    src.parent.mkdir()
    Image.fromarray(np.full((64, 64, 3), 100, np.uint8)).save(src)
    out = tmp_path / "out"
    predict_paths([src], out, _Flat(), progress=False)
    before = (out / "predictions.json").read_text()
    request.getfixturevalue("crash_mid_write")
    with pytest.raises(OSError):
        predict_paths([src], out, _Flat(), progress=False)
    assert (out / "predictions.json").read_text() == before
    assert not [n for n in _only_files(out) if n.startswith(".")]


def test_uncertainty_is_decided_by_the_network(tmp_path):
    student_u = create_model("student", uncertainty=True)
    teacher_plain = create_model("teacher", uncertainty=False)
    assert TorchRuntime(student_u, {"model": "student", "input_size": 64}).has_uncertainty
    assert not TorchRuntime(teacher_plain, {"model": "teacher", "input_size": 64}).has_uncertainty

    class Wrapped(torch.nn.Module):  # no `uncertainty` flag: decided from its outputs
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x)

    assert TorchRuntime(Wrapped(student_u), {"model": "x", "input_size": 64}).has_uncertainty
    assert not TorchRuntime(Wrapped(teacher_plain), {"model": "x", "input_size": 64}).has_uncertainty

    # Through a checkpoint, as facemat-predict opens it: a plain teacher gives no log_scale and no map.
    ckpt = save_checkpoint(tmp_path / "t.safetensors", teacher_plain,
                           {"model": "teacher", "model_kwargs": {"uncertainty": False}, "input_size": 64})
    runtime = load_runtime(ckpt)
    assert not runtime.has_uncertainty
    result = Predictor(runtime).predict(np.zeros((64, 64, 3), np.uint8), faces=[])
    assert result.log_scale is None
