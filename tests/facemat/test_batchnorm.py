"""Precise batch-norm statistics (facemat.batchnorm): numerics, the stale-statistics failure it fixes, edge
cases, and training's use of it."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset

from facemat.batchnorm import calibration_batches, has_batchnorm, recalibrate_batchnorm
from facemat.checkpoint import load_model
from facemat.config import load_config
from facemat.data import MattingDataset, load_split
from facemat.train import train


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 1, 1))


def _batches(n: int = 3) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return [torch.rand(2, 3, 8, 8, generator=g) * (i + 1) for i in range(n)]


def test_statistics_are_the_average_over_the_batches():
    net, xs = _net(), _batches()
    assert recalibrate_batchnorm(net, xs) == 3
    with torch.no_grad():
        feats = [net[0](x) for x in xs]
    bn = net[1]
    # equal batches: the running mean is the mean of the batch means, the variance the mean of their
    # (unbiased) variances, as torch's cumulative average keeps them
    torch.testing.assert_close(bn.running_mean, torch.stack([f.mean((0, 2, 3)) for f in feats]).mean(0))
    torch.testing.assert_close(bn.running_var, torch.stack([f.var((0, 2, 3)) for f in feats]).mean(0))
    assert net[1].momentum == 0.1 and net.training  # restored


def test_stale_statistics_are_replaced_so_eval_matches_train_mode():
    net, x = _net(), _batches(1)
    net[1].running_mean.fill_(5.0)  # what a moving average left behind by fast-moving weights looks like
    net[1].running_var.fill_(1e-6)
    with torch.no_grad():
        train_out = net.train()(x[0])
        stale = net.eval()(x[0])
    assert (stale - train_out).abs().max() > 1.0
    recalibrate_batchnorm(net, x)
    with torch.no_grad():
        fresh = net.eval()(x[0])
    # one batch: eval mode now normalises with that batch's statistics (unbiased against biased variance)
    torch.testing.assert_close(fresh, train_out, rtol=0.05, atol=0.05)


def test_no_batches_or_no_batchnorm_change_nothing():
    net = _net()
    net[1].running_mean.fill_(0.5)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert recalibrate_batchnorm(net, []) == 0
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, before[k], msg=k)
    plain = nn.Conv2d(3, 1, 1)
    assert not has_batchnorm(plain) and recalibrate_batchnorm(plain, _batches()) == 0


class _Rows(Dataset):
    def __len__(self) -> int:
        return 10

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"image": torch.full((3, 4, 4), float(i)), "alpha": torch.zeros(1, 4, 4)}


def test_calibration_batches_are_a_fixed_seeded_choice_capped_by_the_data():
    a = list(calibration_batches(_Rows(), 2, 3, seed=7))
    b = list(calibration_batches(_Rows(), 2, 3, seed=7))
    assert [x.shape for x in a] == [(3, 3, 4, 4)] * 2
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    rows = {float(v) for x in a for v in x[:, 0, 0, 0]}
    assert len(rows) == 6  # six different rows
    assert sum(x.shape[0] for x in calibration_batches(_Rows(), 50, 4, seed=7)) == 10  # all rows once, no more


def test_training_saves_the_recomputed_statistics(tiny_dataset, tmp_path):
    cfg = load_config("recipes/facemat-teacher.toml", {
        "data.path": str(tiny_dataset), "out": str(tmp_path / "run"), "input_size": 64, "device": "cpu",
        "data.num_workers": 0, "data.val_samples": 2, "optim.batch_size": 4, "optim.max_steps": 3,
        "optim.warmup_steps": 1, "optim.precise_bn": 2, "log.ckpt_every": 0, "log.val_every": 0})
    run = train(cfg)
    model, saved = load_model(run / "model.safetensors")
    data = MattingDataset(load_split(str(tiny_dataset), "train"), 64, saved["augment"], saved["seed"])
    data.set_epoch(0)
    ref, _ = load_model(run / "model.safetensors")
    ref.train()
    recalibrate_batchnorm(ref, calibration_batches(data, 2, 4, saved["seed"]))
    bns = [k for k in model.state_dict() if k.endswith("running_mean")]
    assert bns
    for k in bns:
        torch.testing.assert_close(model.state_dict()[k], ref.state_dict()[k], msg=k)


def test_hand_prior_training_with_loader_workers_goes_on_past_a_mid_epoch_validation(tiny_dataset, tmp_path):
    # The hand prior runs mediapipe in the main process at each validation; a loader worker forked from it
    # afterwards (the next epoch's) crashed. 32 rows / 4 a batch = 8 steps an epoch: validation at step 4.
    cfg = load_config("recipes/facemat-teacher.toml", {
        "data.path": str(tiny_dataset), "out": str(tmp_path / "run"), "input_size": 64, "device": "cpu",
        "data.num_workers": 1, "data.val_samples": 2, "optim.batch_size": 4, "optim.max_steps": 10,
        "optim.warmup_steps": 1, "optim.precise_bn": 1, "hand_prior": True, "log.ckpt_every": 0,
        "log.val_every": 4})
    steps = []
    train(cfg, on_step=lambda s, _: steps.append(s))
    assert steps == list(range(1, 11))
