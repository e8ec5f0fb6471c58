"""The weights' moving average (optim.ema): its decay, its update, and training that saves and resumes it."""

import pytest
import torch
from torch import nn

from facemat.checkpoint import read_checkpoint
from facemat.config import ConfigError, load_config
from facemat.ema import ema_decay, weight_average
from facemat.train import train


def test_decay_warms_up_then_holds():
    assert ema_decay(1, 0.999) == pytest.approx(2 / 11)
    assert ema_decay(10, 0.999) == pytest.approx(11 / 20)
    assert ema_decay(80, 0.999) == pytest.approx(0.9)
    assert ema_decay(10**6, 0.99) == 0.99


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))


def test_first_update_copies_then_each_moves_by_one_minus_decay():
    net = _net()
    avg = weight_average(net, 0.5)
    with torch.no_grad():
        net[0].weight.fill_(1.0)
    avg.update_parameters(net)
    assert torch.equal(avg.module[0].weight, net[0].weight)
    with torch.no_grad():
        net[0].weight.fill_(3.0)
    avg.update_parameters(net)  # one update before: decay min(0.5, 2/11)
    d = 2 / 11
    torch.testing.assert_close(avg.module[0].weight, torch.full_like(net[0].weight, d * 1.0 + (1 - d) * 3.0))
    assert not any(p.requires_grad for p in avg.parameters())


def test_integer_buffers_follow_the_live_model():
    net = _net()
    avg = weight_average(net, 0.9)
    avg.update_parameters(net)
    net[1].num_batches_tracked += 7
    avg.update_parameters(net)
    assert int(avg.module[1].num_batches_tracked) == int(net[1].num_batches_tracked) == 7


@pytest.mark.parametrize("decay", [0.0, 1.0, 1.5])
def test_decay_outside_0_1_is_refused(decay):
    with pytest.raises(ValueError, match="EMA decay"):
        weight_average(_net(), decay)


@pytest.mark.parametrize("value", [-0.1, 1.0])
def test_config_rejects_ema_outside_0_1(value):
    with pytest.raises(ConfigError, match="optim.ema"):
        load_config(None, {"optim.ema": value})


def _config(data, out, ema):
    return load_config("recipes/facemat-teacher.toml", {
        "data.path": str(data), "out": str(out), "input_size": 64, "device": "cpu", "data.num_workers": 0,
        "data.val_samples": 2, "optim.batch_size": 4, "optim.max_steps": 6, "optim.warmup_steps": 2,
        "optim.precise_bn": 0, "optim.ema": ema, "log.ckpt_every": 2, "log.val_every": 0})


def test_training_saves_the_average_not_the_last_step(tiny_dataset, tmp_path):
    run = train(_config(tiny_dataset, tmp_path / "run", 0.9))
    saved, config, _ = read_checkpoint(run / "model.safetensors")
    live, _, extra = read_checkpoint(run / "checkpoints" / "last.safetensors")
    assert config["optim"]["ema"] == 0.9
    assert int(extra["ema"]["n_averaged"]) == 6  # one update a step
    for key, value in saved.items():
        torch.testing.assert_close(value, extra["ema"][f"module.{key}"], rtol=0, atol=0, msg=key)
    moved = [k for k in saved if saved[k].is_floating_point() and not torch.equal(saved[k], live[k])]
    assert len(moved) > len(saved) // 2  # the average is not the last step's weights


def test_interrupted_run_resumes_its_average_exactly(tiny_dataset, tmp_path):
    ref = train(_config(tiny_dataset, tmp_path / "ref", 0.9))

    class Stop(Exception):
        pass

    def stop(step, _):
        if step == 3:
            raise Stop

    cut = tmp_path / "cut"
    with pytest.raises(Stop):
        train(_config(tiny_dataset, cut, 0.9), on_step=stop)
    train(_config(tiny_dataset, cut, 0.9))  # resumes from step 2 with the average saved there
    a, _, _ = read_checkpoint(ref / "model.safetensors")
    b, _, _ = read_checkpoint(cut / "model.safetensors")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=key)
