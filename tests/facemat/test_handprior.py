"""The hand-prior channel: the network's fourth input, its initialisation from an RGB model, the runtimes that
add it, ONNX export, training, and the post-hoc prior of the predictor."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from hand_photos import paste_hand
from skimage import data as skdata

from facemat.checkpoint import save_checkpoint
from facemat.config import ConfigError, load_config
from facemat.export import check_onnx, export_onnx
from facemat.handprior import uses_hand_prior, with_hand_prior
from facemat.models import create_model
from facemat.runtime import OnnxRuntime, load_runtime
from facemat.train import init_from_checkpoint


@pytest.fixture(scope="module")
def hand_photo():
    """A plain background with a bundled hand on it, and the hand's alpha."""
    return paste_hand(np.full((256, 256, 3), 190, np.uint8), "hand-on_cheek-001", (128, 140), 150)


def test_with_hand_prior_appends_the_hand_mask(hand_photo):
    photo, alpha = hand_photo
    x = photo.transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    full = with_hand_prior(x)
    assert full.shape == (1, 4, 256, 256) and np.array_equal(full[:, :3], x)
    prior = full[0, 3]
    assert prior.max() > 0.99 and prior[alpha > 0.5].mean() > 0.6  # most of the hand is marked
    assert prior[alpha < 0.01].mean() < 0.1  # little of the background
    blank = with_hand_prior(np.full((2, 3, 64, 64), 0.5, np.float32))
    assert not blank[:, 3].any()
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        with_hand_prior(np.zeros((1, 4, 32, 32), np.float32))


def test_a_hand_prior_model_initialised_from_an_rgb_one_computes_the_same_until_trained(tmp_path):
    torch.manual_seed(0)
    rgb = create_model("student").eval()
    path = save_checkpoint(tmp_path / "rgb.safetensors", rgb, {"model": "student", "model_kwargs": {},
                                                               "input_size": 64})
    torch.manual_seed(1)
    four = create_model("student", in_channels=4).eval()
    copied, total = init_from_checkpoint(four, path)
    assert copied == total  # every tensor copied or widened
    x = torch.rand(2, 3, 64, 64)
    prior = (torch.rand(2, 1, 64, 64) > 0.5).float()
    with torch.no_grad():
        a = rgb(x)["alpha"]
        b = four(torch.cat([x, prior], 1))["alpha"]
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)  # the new channel's weights start at zero
    stem = four.encoder.stem[0].weight
    assert stem.shape[1] == 4 and not stem[:, 3].any()  # widened: the prior's input weights start at zero
    torch.testing.assert_close(stem[:, :3], rgb.encoder.stem[0].weight)


def test_runtimes_add_the_channel_and_onnx_export_agrees(tmp_path, hand_photo):
    torch.manual_seed(0)
    model = create_model("student", in_channels=4).eval()
    with torch.no_grad():  # make the network depend on the prior channel
        model.encoder.stem[0].weight[:, 3].normal_(0, 1.0)
    config = {"model": "student", "model_kwargs": {"in_channels": 4}, "input_size": 128, "hand_prior": True}
    assert uses_hand_prior(config)
    ckpt = save_checkpoint(tmp_path / "hp.safetensors", model, config)
    rt = load_runtime(ckpt)
    photo, _ = hand_photo
    x = cv2.resize(photo, (128, 128)).transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    out = rt(x)["alpha"]  # the caller passes RGB; the runtime appends the prior
    with torch.no_grad():
        ref = model(torch.from_numpy(with_hand_prior(x)))["alpha"].numpy()
        without = model(torch.cat([torch.from_numpy(x), torch.zeros(1, 1, 128, 128)], 1))["alpha"].numpy()
    np.testing.assert_allclose(out, ref, atol=1e-5)
    assert np.abs(ref - without).max() > 1e-3  # the channel was not blank: the hand was seen
    onnx_path = export_onnx(model, tmp_path / "hp.onnx", config)
    assert check_onnx(model, onnx_path, sizes=(128,), batch=1).ok
    np.testing.assert_allclose(OnnxRuntime(onnx_path)(x)["alpha"], ref, atol=1e-4)


def test_photos_look_for_hands_in_two_passes_and_tracked_video_in_one(tmp_path, hand_photo, monkeypatch):
    from celebamat.landmarks import FAST_HAND_PADS, HAND_PADS, Landmarker
    from facemat.predict import Predictor

    model = create_model("student", in_channels=4).eval()
    config = {"model": "student", "model_kwargs": {"in_channels": 4}, "input_size": 128, "hand_prior": True}
    rt = load_runtime(save_checkpoint(tmp_path / "hp.safetensors", model, config))
    seen: list[float] = []
    looked = Landmarker._hands_inside_border
    monkeypatch.setattr(Landmarker, "_hands_inside_border",
                        lambda self, img, share: seen.append(share) or looked(self, img, share))
    photo, _ = hand_photo
    x = cv2.resize(photo, (128, 128)).transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    rt(x)
    assert tuple(seen) == HAND_PADS and len(HAND_PADS) == 2
    seen.clear()
    rt(x, FAST_HAND_PADS)
    assert tuple(seen) == FAST_HAND_PADS == (HAND_PADS[0],)
    predictor = Predictor(rt)
    crops = cv2.resize(photo, (128, 128))[None]
    for fast, passes in ((False, HAND_PADS), (True, FAST_HAND_PADS)):
        seen.clear()
        predictor.predict_crops(crops, fast=fast)
        assert tuple(seen) == passes


def test_photo_prediction_takes_two_passes_and_video_frames_one(tmp_path, monkeypatch):
    from celebamat.faces.finder import FaceFinder
    from celebamat.landmarks import FAST_HAND_PADS, HAND_PADS, Landmarker
    from facemat.predict import Predictor, predict_video
    from facemat.video import VideoWriter

    model = create_model("student", in_channels=4).eval()
    config = {"model": "student", "model_kwargs": {"in_channels": 4}, "input_size": 128, "hand_prior": True}
    predictor = Predictor(load_runtime(save_checkpoint(tmp_path / "hp.safetensors", model, config)), FaceFinder())
    face = cv2.resize(skdata.astronaut()[:300, 80:380], (170, 170), interpolation=cv2.INTER_AREA)
    frame = np.full((192, 256, 3), 60, np.uint8)
    frame[10:180, 40:210] = face
    seen: list[float] = []
    looked = Landmarker._hands_inside_border
    monkeypatch.setattr(Landmarker, "_hands_inside_border",
                        lambda self, img, share: seen.append(share) or looked(self, img, share))
    assert len(predictor.predict(frame).faces) == 1
    assert tuple(seen) == HAND_PADS  # a photo: both borders
    seen.clear()
    with VideoWriter(tmp_path / "clip.avi", 5, (256, 192)) as vw:
        for _ in range(2):
            vw.write(frame)
    for track in (True, False):  # video frames: one border, tracked or not
        seen.clear()
        summary = predict_video(predictor, tmp_path / "clip.avi", tmp_path / f"out{track}", "clip", track=track,
                                progress=False)
        assert summary["frames_with_faces"] == 2 and tuple(seen) == FAST_HAND_PADS * 2


def test_config_checks_the_hand_prior_settings():
    assert load_config(None, {"hand_prior": True})["hand_prior"] is True
    with pytest.raises(ConfigError, match="hand_prior must be true or false"):
        load_config(None, {"hand_prior": 1})
    with pytest.raises(ConfigError, match="hand_prior_drop"):
        load_config(None, {"augment.hand_prior_drop": 1.5})
    with pytest.raises(ConfigError, match="in_channels"):
        load_config(None, {"hand_prior": True, "model_kwargs.in_channels": 3})


class AllSkin:
    """A runtime that calls every pixel of every face crop skin."""

    input_size = 128
    has_uncertainty = False
    config = {"model": "student"}

    def __call__(self, x):
        return {"alpha": np.ones((x.shape[0], 1, x.shape[2], x.shape[3]), np.float32)}


def test_predictor_post_hoc_prior_removes_a_hand_from_the_matte():
    """A runtime that calls everything skin: with the post-hoc prior, the hand over the cheek is cut out."""
    from facemat.predict import FaceFinder, Predictor

    face = skdata.astronaut()
    photo, hand = paste_hand(face, "hand-on_cheek-001", (190, 175), 130)
    finder = FaceFinder()
    plain = Predictor(AllSkin(), finder).predict(photo).alpha
    cut = Predictor(AllSkin(), finder, hand_prior=True).predict(photo).alpha
    on_hand = (hand > 0.9) & (plain > 0.5)
    assert on_hand.sum() > 500
    assert cut[on_hand].mean() < 0.4 * plain[on_hand].mean()
    off_hand = (hand < 0.01) & (plain > 0.5)
    assert cut[off_hand].mean() > 0.9  # the rest of the face is kept


def test_predict_paths_passes_the_hand_prior_on(tmp_path):
    """``facemat-predict --hand-prior`` reaches the predictor: the written matte has the hand cut out."""
    from PIL import Image

    from facemat.predict import predict_paths

    photo, hand = paste_hand(skdata.astronaut(), "hand-on_cheek-001", (190, 175), 130)
    Image.fromarray(photo).save(tmp_path / "p.png")
    for flag in (False, True):
        predict_paths([tmp_path / "p.png"], tmp_path / f"out-{flag}", AllSkin(), progress=False, hand_prior=flag)
    plain = np.asarray(Image.open(tmp_path / "out-False" / "p_alpha.png")) / 255.0
    cut = np.asarray(Image.open(tmp_path / "out-True" / "p_alpha.png")) / 255.0
    on_hand = (hand > 0.9) & (plain > 0.5)
    assert on_hand.sum() > 500 and cut[on_hand].mean() < 0.4 * plain[on_hand].mean()
