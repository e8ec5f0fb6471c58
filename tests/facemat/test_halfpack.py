"""Half-precision packing: float16 everywhere but where rounding would move the mattes."""

import pytest
import torch
from torch import nn

from facemat.halfpack import compare_mattes
from facemat.halfpack import half_state, pack_half
from facemat.pretrained import PretrainedError


class _Net(nn.Module):
    """A small matting head: 1x1 conv, batch norm, sigmoid, channel mean -> ``{"alpha": (B, 1, H, W)}``. With
    ``offset`` the conv's outputs sit near ``offset`` and vary little: the batch norm subtracts a running mean
    of about ``offset`` and divides by a small spread, as in a channel fed by dead features."""

    in_channels = 3

    def __init__(self, offset: float = 0.0):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 1)
        self.bn = nn.BatchNorm2d(4)
        self.other = nn.Conv2d(4, 4, 3, padding=1)  # most of the weights: well-conditioned, round harmlessly
        with torch.no_grad():
            self.conv.bias += offset
            self.bn.running_mean.copy_(self.conv.bias + 0.5 * self.conv.weight.sum((1, 2, 3)))
            self.bn.running_var.fill_(0.04 if offset == 0 else 1e-3)
            self.other.weight.mul_(0.01)[:, :, 1, 1] += torch.eye(4)
            self.other.bias.zero_()

    def forward(self, x):
        return {"alpha": torch.sigmoid(self.other(self.bn(self.conv(x)))).mean(1, keepdim=True)}


def test_a_well_conditioned_net_is_all_half():
    net = _Net().eval()
    packed = pack_half(net, net.state_dict(), 32)
    assert packed.float32_names == () and packed.check.ok
    assert all(v.dtype == torch.float16 for v in packed.state.values() if v.is_floating_point())


def test_tensors_whose_rounding_moves_the_mattes_stay_float32():
    net = _Net(offset=900.0).eval()
    state = net.state_dict()
    plain = _Net(offset=900.0).eval()
    plain.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in half_state(state).items()})
    assert not compare_mattes(net, plain, 32).ok  # all in float16: refused before
    packed = pack_half(net, state, 32)
    assert packed.check.ok
    assert set(packed.float32_names) <= {"conv.bias", "bn.running_mean"} and packed.float32_names
    for k, v in packed.state.items():
        if v.is_floating_point():
            assert v.dtype == (torch.float32 if k in packed.float32_names else torch.float16), k
    assert packed.state["bn.num_batches_tracked"].dtype == torch.int64


def test_half_precision_is_refused_when_too_much_would_stay_float32(monkeypatch):
    import facemat.halfpack as halfpack

    monkeypatch.setattr(halfpack, "MAX_FLOAT32_SHARE", 1e-4)
    net = _Net(offset=900.0).eval()
    with pytest.raises(PretrainedError, match="--dtype float32"):
        pack_half(net, net.state_dict(), 32)
