"""ImageNet weights in timm's layout load into the MobileNetV3 encoders by name, strictly.

The state dicts are written here, with timm's names and shapes for ``mobilenetv3_small_100`` and
``mobilenetv3_large_100`` (stages as timm groups them; depthwise-separable first block ``conv_dw``/``bn1``/
``se``/``conv_pw``/``bn2``; inverted residuals ``conv_pw``/``bn1``/``conv_dw``/``bn2``/``se``/``conv_pwl``/``bn3``;
then the 1x1 ``conv``/``bn1`` block, ``conv_head`` and ``classifier``), filled with random values.
"""

from __future__ import annotations

import hashlib

import pytest
import torch

from facemat.models import create_model
from facemat.models.blocks import make_divisible
from facemat.models.encoder import MobileNetV3Encoder
from facemat.models.pretrained import PretrainedWeightsError, load_encoder_weights

# (kernel, expansion, out, se) per block, grouped in timm's stages; then the last 1x1 conv width.
TIMM_SMALL = ([[(3, 16, 16, True)], [(3, 72, 24, False), (3, 88, 24, False)],
               [(5, 96, 40, True), (5, 240, 40, True), (5, 240, 40, True)], [(5, 120, 48, True), (5, 144, 48, True)],
               [(5, 288, 96, True), (5, 576, 96, True), (5, 576, 96, True)]], 576, 1024)
TIMM_LARGE = ([[(3, 16, 16, False)], [(3, 64, 24, False), (3, 72, 24, False)],
               [(5, 72, 40, True), (5, 120, 40, True), (5, 120, 40, True)],
               [(3, 240, 80, False), (3, 200, 80, False), (3, 184, 80, False), (3, 184, 80, False)],
               [(3, 480, 112, True), (3, 672, 112, True)],
               [(5, 672, 160, True), (5, 960, 160, True), (5, 960, 160, True)]], 960, 1280)


def timm_state_dict(spec, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    sd: dict[str, torch.Tensor] = {}

    def t(*shape):
        return torch.randn(*shape, generator=gen)

    def conv(name, cout, cin, k=1, groups=1):
        sd[f"{name}.weight"] = t(cout, cin // groups, k, k)

    def bn(name, c):
        sd[f"{name}.weight"], sd[f"{name}.bias"] = t(c), t(c)
        sd[f"{name}.running_mean"], sd[f"{name}.running_var"] = t(c), t(c).abs() + 0.5
        sd[f"{name}.num_batches_tracked"] = torch.tensor(7)

    def se(name, c):
        rd = make_divisible(c * 0.25)
        sd[f"{name}.conv_reduce.weight"], sd[f"{name}.conv_reduce.bias"] = t(rd, c, 1, 1), t(rd)
        sd[f"{name}.conv_expand.weight"], sd[f"{name}.conv_expand.bias"] = t(c, rd, 1, 1), t(c)

    stages, last, head = spec
    conv("conv_stem", 16, 3, 3)
    bn("bn1", 16)
    cin = 16
    for s, blocks in enumerate(stages):
        for j, (k, e, out, has_se) in enumerate(blocks):
            p = f"blocks.{s}.{j}"
            if e == cin:
                conv(f"{p}.conv_dw", e, e, k, groups=e), bn(f"{p}.bn1", e)
                if has_se:
                    se(f"{p}.se", e)
                conv(f"{p}.conv_pw", out, e), bn(f"{p}.bn2", out)
            else:
                conv(f"{p}.conv_pw", e, cin), bn(f"{p}.bn1", e)
                conv(f"{p}.conv_dw", e, e, k, groups=e), bn(f"{p}.bn2", e)
                if has_se:
                    se(f"{p}.se", e)
                conv(f"{p}.conv_pwl", out, e), bn(f"{p}.bn3", out)
            cin = out
    conv(f"blocks.{len(stages)}.0.conv", last, cin), bn(f"blocks.{len(stages)}.0.bn1", last)
    sd["conv_head.weight"], sd["conv_head.bias"] = t(head, last, 1, 1), t(head)
    sd["classifier.weight"], sd["classifier.bias"] = t(1000, head), t(1000)
    return sd


def test_known_timm_names_and_shapes():
    sd = timm_state_dict(TIMM_SMALL)
    assert sd["blocks.0.0.se.conv_reduce.weight"].shape == (8, 16, 1, 1)
    assert sd["blocks.1.0.conv_pw.weight"].shape == (72, 16, 1, 1)
    assert sd["blocks.4.2.conv_pwl.weight"].shape == (96, 576, 1, 1)
    assert sd["blocks.5.0.conv.weight"].shape == (576, 96, 1, 1)


@pytest.mark.parametrize("arch,spec", [("mobilenetv3_small", TIMM_SMALL), ("mobilenetv3_large", TIMM_LARGE)])
def test_every_encoder_tensor_is_loaded_by_name(tmp_path, arch, spec):
    from safetensors.torch import save_file

    sd = timm_state_dict(spec)
    path = tmp_path / "model.safetensors"
    save_file(sd, str(path))
    model = create_model("student", encoder=arch, width=1.0)
    info = load_encoder_weights(model, str(path))
    enc = model.encoder.state_dict()
    assert info.copied == len(enc)
    assert info.unused_head == 6 + 2 + 2  # last conv + bn (6), conv_head (2), classifier (2)
    assert len(info.sha256) == 64 and info.file == str(path)
    assert torch.equal(enc["stem.0.weight"], sd["conv_stem.weight"])
    assert torch.equal(enc["blocks.0.body.0.0.weight"], sd["blocks.0.0.conv_dw.weight"])
    assert torch.equal(enc["blocks.1.body.2.1.running_var"], sd["blocks.1.0.bn3.running_var"])
    last = len(model.encoder.blocks) - 1
    assert torch.equal(enc[f"blocks.{last}.body.2.expand.bias"], sd[f"blocks.{len(spec[0]) - 1}.2.se.conv_expand.bias"])
    # the same through a .pth file holding {"state_dict": ...}
    pth = tmp_path / "w.pth"
    torch.save({"state_dict": sd}, pth)
    other = MobileNetV3Encoder(arch)
    load_encoder_weights(other, str(pth))
    assert all(torch.equal(v, enc[k]) for k, v in other.state_dict().items())


def test_strict_check_names_the_culprit(tmp_path):
    from safetensors.torch import save_file

    sd = timm_state_dict(TIMM_SMALL)
    bad = dict(sd)
    del bad["blocks.2.1.conv_dw.weight"]
    save_file(bad, str(tmp_path / "missing.safetensors"))
    with pytest.raises(PretrainedWeightsError, match=r"blocks\.2\.1\.conv_dw\.weight"):
        load_encoder_weights(MobileNetV3Encoder("mobilenetv3_small"), str(tmp_path / "missing.safetensors"))
    extra = {**sd, "blocks.1.0.extra.weight": torch.zeros(3)}
    save_file(extra, str(tmp_path / "extra.safetensors"))
    with pytest.raises(PretrainedWeightsError, match=r"no home.*blocks\.1\.0\.extra\.weight"):
        load_encoder_weights(MobileNetV3Encoder("mobilenetv3_small"), str(tmp_path / "extra.safetensors"))
    save_file(sd, str(tmp_path / "ok.safetensors"))
    with pytest.raises(PretrainedWeightsError, match="width 1.0"):
        load_encoder_weights(MobileNetV3Encoder("mobilenetv3_small", width=1.25), str(tmp_path / "ok.safetensors"))
    with pytest.raises(PretrainedWeightsError, match="does not exist"):
        load_encoder_weights(MobileNetV3Encoder("mobilenetv3_small"), str(tmp_path / "nope.safetensors"))


@pytest.mark.slow
def test_training_records_the_weights(tmp_path, tiny_dataset):
    from safetensors.torch import save_file

    from facemat.config import load_config
    from facemat.train import train

    path = tmp_path / "small.safetensors"
    save_file(timm_state_dict(TIMM_SMALL), str(path))
    cfg = load_config(None, {"role": "teacher", "model": "student", "input_size": 64, "out": str(tmp_path / "run"),
                             "data.path": str(tiny_dataset), "optim.max_steps": 1, "optim.batch_size": 4,
                             "data.num_workers": 0, "log.val_every": 0, "data.val_samples": 2, "loss.nll": 0.0,
                             "optim.lr": 1e-4, "encoder_weights": str(path)})
    run = train(cfg)
    from facemat.checkpoint import read_checkpoint

    state, config, _ = read_checkpoint(run / "model.safetensors")
    loaded = timm_state_dict(TIMM_SMALL)["blocks.3.1.conv_dw.weight"]
    # one AdamW step moves a weight by about lr: the trained encoder starts from the file, not from scratch
    assert (state["encoder.blocks.7.body.1.0.weight"] - loaded).abs().max() < 1e-3
    assert config["encoder_weights"] == str(path)
    assert config["encoder_weights_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert f'encoder_weights = "{path}"' in (run / "config.toml").read_text()


def test_init_from_a_teacher_of_the_same_network(tmp_path):
    from facemat.checkpoint import save_checkpoint
    from facemat.config import ConfigError
    from facemat.train import init_from_checkpoint

    torch.manual_seed(1)
    teacher = create_model("student", uncertainty=True)  # the student's network with the uncertainty head
    ckpt = save_checkpoint(tmp_path / "t.safetensors", teacher,
                           {"model": "student", "model_kwargs": {"uncertainty": True}, "input_size": 64})
    student = create_model("student")
    copied, total = init_from_checkpoint(student, ckpt)
    assert copied == total - 2  # all but the head's weight and bias (2 output channels against 1)
    theirs = teacher.state_dict()
    assert all(torch.equal(v, theirs[k]) for k, v in student.state_dict().items() if not k.startswith("head."))
    with pytest.raises(ConfigError, match="encoder tensor"):
        init_from_checkpoint(create_model("teacher"), ckpt)
