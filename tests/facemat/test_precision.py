"""Precision choices of training: the teacher's bf16 forward, fused AdamW and its resumed state."""

import pytest
import torch

from facemat.config import ConfigError, load_config
from facemat.models import create_model
from facemat.precision import (cpu_has_native_bf16, load_optimizer_state, make_optimizer, resolve_teacher_bf16,
                               teacher_autocast)

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_resolve_teacher_bf16():
    assert resolve_teacher_bf16("auto", CPU) is cpu_has_native_bf16()
    assert resolve_teacher_bf16(True, CPU) is True
    assert resolve_teacher_bf16(False, CPU) is False
    # on a GPU the teacher follows optim.amp with the student; this setting is for CPUs
    assert resolve_teacher_bf16("auto", CUDA) is False and resolve_teacher_bf16(True, CUDA) is False
    with pytest.raises(ValueError, match="teacher_bf16"):
        resolve_teacher_bf16("yes", CPU)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_config_rejects_other_teacher_bf16_values(value):
    with pytest.raises(ConfigError, match="optim.teacher_bf16"):
        load_config(None, {"optim.teacher_bf16": value})


@pytest.mark.slow
def test_teacher_in_bf16_stays_close_to_float32():
    torch.manual_seed(0)
    teacher = create_model("teacher").eval()
    x = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        ref = teacher(x)
        with teacher_autocast(True):
            low = teacher(x)
        with teacher_autocast(False):
            same = teacher(x)
    assert low["alpha"].dtype == torch.bfloat16 and same["alpha"].dtype == torch.float32
    torch.testing.assert_close(same["alpha"], ref["alpha"])
    diff = (low["alpha"].float() - ref["alpha"]).abs()
    assert 0 < diff.mean() < 0.01 and diff.max() < 0.1  # bf16 keeps 8 bits of mantissa: close, not equal


def _step(model, opt, x):
    loss = model(x)["alpha"].square().mean()
    opt.zero_grad()
    loss.backward()
    opt.step()


@pytest.mark.slow
def test_fused_adamw_resumes_exactly_on_channels_last_weights():
    torch.manual_seed(0)
    xs = [torch.rand(2, 3, 64, 64).contiguous(memory_format=torch.channels_last) for _ in range(4)]

    def fresh():
        torch.manual_seed(1)
        model = create_model("student").to(memory_format=torch.channels_last)
        return model, make_optimizer(model.parameters(), 1e-2, 1e-4, CPU)

    ref, ref_opt = fresh()
    assert ref_opt.defaults["fused"]
    for x in xs:
        _step(ref, ref_opt, x)
    cut, cut_opt = fresh()
    for x in xs[:2]:
        _step(cut, cut_opt, x)
    # what a checkpoint gives back: contiguous copies of every tensor
    weights = {k: v.contiguous() for k, v in cut.state_dict().items()}
    state = cut_opt.state_dict()
    state["state"] = {i: {k: v.contiguous().clone() for k, v in s.items()} for i, s in state["state"].items()}
    resumed, resumed_opt = fresh()
    resumed.load_state_dict(weights)
    load_optimizer_state(resumed_opt, state)
    conv = next(p for p in resumed.parameters() if p.dim() == 4 and p.shape[1] > 1)
    assert resumed_opt.state[conv]["exp_avg"].stride() == conv.stride()
    for x in xs[2:]:
        _step(resumed, resumed_opt, x)
    for a, b in zip(ref.parameters(), resumed.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_encoder_lr_scale_groups_the_encoder_apart():
    from facemat.precision import param_groups

    torch.manual_seed(0)
    model = create_model("student")
    (whole,) = param_groups(model)
    assert len(whole["params"]) == len(list(model.parameters())) and whole["lr_scale"] == 1.0
    enc, rest = param_groups(model, 0.1)
    assert enc["lr_scale"] == 0.1 and rest["lr_scale"] == 1.0
    assert {id(p) for p in enc["params"]} == {id(p) for p in model.encoder.parameters()}
    assert len(enc["params"]) + len(rest["params"]) == len(list(model.parameters()))
    assert not {id(p) for p in enc["params"]} & {id(p) for p in rest["params"]}


def test_the_encoder_trains_at_its_share_of_the_learning_rate():
    from facemat.precision import param_groups, set_learning_rate

    model = create_model("student")
    optimizer = make_optimizer(param_groups(model, 0.3), 1e-3, 0.0, CPU)
    set_learning_rate(optimizer, 2e-3)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([6e-4, 2e-3])
    legacy = make_optimizer(model.parameters(), 1e-3, 0.0, CPU)  # a group without a scale (an old state)
    set_learning_rate(legacy, 2e-3)
    assert legacy.param_groups[0]["lr"] == 2e-3


@pytest.mark.parametrize("value", [0, -0.5, 1.5])
def test_config_rejects_an_encoder_lr_scale_outside_0_1(value):
    with pytest.raises(ConfigError, match="optim.encoder_lr_scale"):
        load_config(None, {"optim.encoder_lr_scale": value})
