import pytest
import torch

from facemat.checkpoint import CheckpointError, load_model, read_checkpoint, save_checkpoint
from facemat.models import create_model, model_names


@pytest.mark.parametrize("name", ["student", "teacher"])
def test_forward_shapes_and_ranges(name):
    model = create_model(name).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, 64, 96))
    assert out["alpha"].shape == (2, 1, 64, 96)
    assert 0 <= out["alpha"].min() and out["alpha"].max() <= 1
    assert ("log_scale" in out) == (name == "teacher")
    if name == "teacher":
        assert out["log_scale"].shape == (2, 1, 64, 96) and torch.isfinite(out["log_scale"]).all()


def test_student_is_compact():
    from torch.utils.flop_counter import FlopCounterMode

    model = create_model("student").eval()
    params = sum(p.numel() for p in model.parameters())
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.rand(1, 3, 256, 256))
    assert params <= 4_000_000
    assert counter.get_total_flops() < 0.5e9
    assert params < sum(p.numel() for p in create_model("teacher").parameters())


def test_unknown_model_and_timm_are_clear_errors():
    with pytest.raises(ValueError, match="unknown model"):
        create_model("resnet")
    assert model_names() == ["student", "teacher"]
    with pytest.raises(ImportError, match="timm"):
        create_model("teacher", encoder="timm:resnet18")


@pytest.mark.slow
def test_student_exports_to_onnx_and_matches(tmp_path):
    import numpy as np
    import onnxruntime as ort

    model = create_model("student").eval()
    x = torch.rand(1, 3, 64, 64)
    path = tmp_path / "student.onnx"
    torch.onnx.export(model, (x,), str(path), input_names=["image"], output_names=["alpha"], dynamo=False,
                      opset_version=17)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image": x.numpy()})[0]
    ops = {n.op_type for n in __import__("onnx").load(str(path)).graph.node}
    assert ops <= {"Conv", "Relu", "HardSwish", "HardSigmoid", "Sigmoid", "Mul", "Add", "Sub", "Div", "Concat",
                   "Resize", "GlobalAveragePool", "Constant", "Identity", "Shape", "Gather", "Slice", "Cast", "Unsqueeze"}
    with torch.no_grad():
        np.testing.assert_allclose(got, model(x)["alpha"].numpy(), atol=1e-4)


@pytest.mark.slow
def test_checkpoint_round_trip_with_optimizer(tmp_path):
    model = create_model("teacher")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.rand(2, 3, 64, 64))["alpha"].mean().backward()
    opt.step()
    config = {"model": "teacher", "model_kwargs": {}, "input_size": 64}
    path = save_checkpoint(tmp_path / "c.safetensors", model, config, extra={"optimizer": opt.state_dict(), "step": 7})
    assert path.read_bytes()[:8] != b"\x80\x04\x95"  # not a pickle
    loaded, cfg = load_model(path)
    assert cfg == config and not loaded.training
    model.eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x)["alpha"], loaded(x)["alpha"])
    _, _, extra = read_checkpoint(path)
    assert extra["step"] == 7
    opt2 = torch.optim.AdamW(loaded.parameters(), lr=1e-3)
    opt2.load_state_dict(extra["optimizer"])
    for a, b in zip(opt.state_dict()["state"].values(), opt2.state_dict()["state"].values()):
        assert torch.equal(a["exp_avg"], b["exp_avg"])


def test_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "none.safetensors")
    with pytest.raises(CheckpointError, match="lacks 'input_size'"):
        save_checkpoint(tmp_path / "x.safetensors", create_model("student"), {"model": "student", "model_kwargs": {}})
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(CheckpointError, match="without FaceMat metadata"):
        load_model(tmp_path / "plain.safetensors")
