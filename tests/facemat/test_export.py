"""facemat.export and the ONNX runtime: exported graphs must agree with torch."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from skimage import data as skdata

from facemat.checkpoint import save_checkpoint
from facemat.export import ONNX_ATOL, check_onnx, export_checkpoint, export_onnx
from facemat.models import create_model
from facemat.runtime import OnnxRuntime, RuntimeSetupError, TorchRuntime, load_runtime


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    torch.manual_seed(0)  # weights only
    model = create_model("student").eval()
    # Non-trivial batch-norm statistics, so that export bugs in folding them would show.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            g = torch.Generator().manual_seed(m.num_features)
            m.running_mean.uniform_(-0.2, 0.2, generator=g)
            m.running_var.uniform_(0.5, 1.5, generator=g)
    config = {"model": "student", "model_kwargs": {}, "input_size": 128}
    path = tmp_path_factory.mktemp("ckpt") / "student.safetensors"
    save_checkpoint(path, model, config)
    return model, config, path


@pytest.mark.slow
def test_onnx_matches_torch_at_several_sizes(student, tmp_path):
    model, config, _ = student
    onnx_path = export_onnx(model, tmp_path / "s.onnx", config)
    check = check_onnx(model, onnx_path, sizes=(128, 192, 256), batch=2)
    assert check.ok and check.max_abs_diff <= ONNX_ATOL, check
    rt = OnnxRuntime(onnx_path)
    assert rt.config == config and rt.input_size == 128 and not rt.has_uncertainty
    # Dynamic height and width: a non-square input keeps its shape.
    out = rt(np.random.default_rng(1).random((1, 3, 96, 160), dtype=np.float32))
    assert out["alpha"].shape == (1, 1, 96, 160) and 0 <= out["alpha"].min() <= out["alpha"].max() <= 1
    with pytest.raises(ValueError, match="multiples of 32"):
        rt(np.zeros((1, 3, 100, 100), np.float32))


@pytest.mark.slow
def test_teacher_export_carries_log_scale(tmp_path):
    torch.manual_seed(1)
    teacher = create_model("teacher").eval()
    config = {"model": "teacher", "model_kwargs": {}, "input_size": 64}
    path = export_onnx(teacher, tmp_path / "t.onnx", config)
    rt = OnnxRuntime(path)
    assert rt.has_uncertainty
    x = np.random.default_rng(2).random((2, 3, 64, 64), dtype=np.float32)
    got = rt(x)
    with torch.inference_mode():
        ref = teacher(torch.from_numpy(x))
    for name in ("alpha", "log_scale"):
        assert np.abs(got[name] - ref[name].numpy()).max() <= ONNX_ATOL


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_export_checkpoint_cli_and_runtime_selection(student, tmp_path):
    from facemat.scripts.export import main

    model, config, ckpt = student
    onnx_path, ts_path = tmp_path / "out" / "m.onnx", tmp_path / "out" / "m.pt"
    assert main(["--checkpoint", str(ckpt), "--onnx", str(onnx_path), "--torchscript", str(ts_path)]) == 0
    assert onnx_path.is_file() and ts_path.is_file()
    assert isinstance(load_runtime(onnx_path), OnnxRuntime)
    assert isinstance(load_runtime(ckpt), TorchRuntime)
    with pytest.raises(RuntimeSetupError, match="ONNX graph"):
        load_runtime(onnx_path, runtime="torch")
    with pytest.raises(RuntimeSetupError, match="does not exist"):
        load_runtime(tmp_path / "missing.safetensors")

    # TorchScript archive: loads without facemat and returns the same alpha.
    extra = {"facemat.json": ""}
    scripted = torch.jit.load(str(ts_path), _extra_files=extra)
    assert json.loads(extra["facemat.json"])["outputs"] == ["alpha"]
    x = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        assert torch.allclose(scripted(x)[0], model(x)["alpha"], atol=1e-5)


def test_onnx_runtime_from_torch_checkpoint_exports_next_to_it(student, tmp_path):
    _, _, ckpt = student
    local = tmp_path / ckpt.name
    local.write_bytes(ckpt.read_bytes())
    rt = load_runtime(local, runtime="onnx")
    assert isinstance(rt, OnnxRuntime) and local.with_suffix(".onnx").is_file()
    x = np.random.default_rng(4).random((1, 3, 128, 128), dtype=np.float32)
    assert np.abs(rt(x)["alpha"] - load_runtime(local)(x)["alpha"]).max() <= ONNX_ATOL


@pytest.mark.slow
def test_predict_with_onnx_matches_torch_on_a_photo(student, tmp_path):
    from facemat.predict import Predictor

    _, _, ckpt = student
    summary = export_checkpoint(ckpt, tmp_path / "m.onnx")
    assert summary["max_abs_diff"] <= ONNX_ATOL
    image = skdata.astronaut()
    a_torch = Predictor(load_runtime(ckpt)).predict(image)
    a_onnx = Predictor(load_runtime(tmp_path / "m.onnx")).predict(image)
    assert len(a_torch.faces) == len(a_onnx.faces) == 1
    assert np.abs(a_torch.alpha - a_onnx.alpha).max() <= ONNX_ATOL


def test_onnx_without_facemat_metadata_is_refused(tmp_path):
    import onnx

    model = torch.nn.Conv2d(3, 1, 1)
    path = tmp_path / "plain.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, 32, 32),), str(path), dynamo=False)
    onnx.checker.check_model(onnx.load(str(path)))
    with pytest.raises(RuntimeSetupError, match="facemat-export"):
        OnnxRuntime(path)
    with pytest.raises(ValueError, match="nothing to export"):
        export_checkpoint(path)
