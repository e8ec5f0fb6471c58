"""facemat.predict, facemat.video and facemat-predict on real faces (public-domain skimage astronaut)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from celebamat.faces.align import transform_points
from facemat.predict import (
    FaceFinder,
    PredictInputError,
    Predictor,
    alpha_image,
    collect_inputs,
    overlay_image,
    paste_back,
    predict_paths,
)
from facemat.runtime import TorchRuntime, load_runtime
from facemat.video import AlphaSmoother, VideoWriter, read_frames, video_info


class GreyRuntime:
    """A stand-in network whose 'alpha' is the crop's own grey level: pasting it back must reproduce the
    photo's grey level wherever the crop lands, which checks alignment and paste-back to the pixel."""

    def __init__(self, size: int = 256) -> None:
        self.input_size = size
        self.config = {"model": "grey", "input_size": size}
        self.has_uncertainty = False
        self.calls = 0

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        self.calls += 1
        return {"alpha": batch.mean(axis=1, keepdims=True)}


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skdata.astronaut()


@pytest.fixture(scope="module")
def finder() -> FaceFinder:
    return FaceFinder()


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Tiny untrained student and teacher checkpoints (128 px input)."""
    import torch

    from facemat.checkpoint import save_checkpoint
    from facemat.models import create_model

    root = tmp_path_factory.mktemp("ckpt")
    out = {}
    for i, name in enumerate(("student", "teacher")):
        torch.manual_seed(i)  # weights only; the library itself draws from no global RNG
        model = create_model(name).eval()
        out[name] = root / f"{name}.safetensors"
        save_checkpoint(out[name], model, {"model": name, "model_kwargs": {}, "input_size": 128})
    return out


def _frame_with(face: np.ndarray, size: tuple[int, int], x: int, y: int, side: int) -> np.ndarray:
    w, h = size
    frame = np.full((h, w, 3), 60, np.uint8)
    frame[y:y + side, x:x + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
    return frame


def _grey(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32).mean(axis=2) / 255.0


def test_find_face_in_photo_and_small_face_in_frame(astronaut, finder):
    faces = finder.find(astronaut)
    assert len(faces) == 1 and faces[0].shape == (478, 2)
    eye_l, eye_r = faces[0][468], faces[0][473]
    assert 150 < eye_l[0] < eye_r[0] < 300 and 80 < eye_l[1] < 160
    # A 180 px astronaut in a 640 x 480 frame: too small for the mesh alone, found through the detector crop.
    frame = _frame_with(astronaut, (640, 480), 300, 100, 180)
    faces_small = finder.find(frame)
    assert len(faces_small) == 1
    expected = faces[0] * (180 / 512) + (300, 100)
    assert np.abs(faces_small[0] - expected).mean() < 3.0


def test_paste_back_reproduces_the_photo_inside_the_crop(astronaut, finder):
    rt = GreyRuntime(256)
    frame = _frame_with(astronaut, (640, 480), 120, 40, 400)
    result = Predictor(rt, finder).predict(frame)
    assert len(result.faces) == 1 and result.alpha.shape == (480, 640) and result.alpha.dtype == np.float32
    lm = result.faces[0].landmarks
    hull = cv2.convexHull(np.round(lm).astype(np.int32))
    inside = np.zeros((480, 640), np.uint8)
    cv2.fillConvexPoly(inside, hull, 1)
    inside = cv2.erode(inside, np.ones((5, 5), np.uint8)).astype(bool)
    err = np.abs(result.alpha - _grey(frame))[inside]
    assert err.mean() < 0.01 and np.quantile(err, 0.99) < 0.05
    # Outside the crop the matte is exactly zero (frame corners are far from the face).
    assert result.alpha[:20, :20].max() == 0.0 and result.alpha[-20:, -20:].max() == 0.0
    # The crop's landmarks, mapped by the stored transform, land inside the aligned square.
    crop_pts = transform_points(lm, result.faces[0].transform)
    assert crop_pts.min() > 0 and crop_pts.max() < 256


def test_paste_back_of_crop_partly_outside_the_frame():
    m = np.array([[1.0, 0.0, 50.0], [0.0, 1.0, 50.0]])  # frame -> crop: the crop starts at (-50, -50)
    crop = np.ones((128, 128), np.float32)
    patch, roi = paste_back(crop, m, (100, 100))
    assert roi == (0, 0, 78, 78) and patch.shape == (78, 78)
    assert np.allclose(patch[:70, :70], 1.0)
    outside = np.array([[1.0, 0.0, 500.0], [0.0, 1.0, 500.0]])
    assert paste_back(crop, outside, (100, 100))[1] is None


def test_several_faces_and_no_face(astronaut, finder):
    rt = GreyRuntime(128)
    frame = np.zeros((400, 800, 3), np.uint8)
    frame[:, :400] = cv2.resize(astronaut, (400, 400))
    frame[:, 400:] = cv2.resize(astronaut[:, ::-1], (400, 400))
    result = Predictor(rt, finder).predict(frame)
    assert len(result.faces) == 2 and rt.calls == 1  # both faces in one batch
    xs = sorted(float(f.landmarks[:, 0].mean()) for f in result.faces)
    assert xs[0] < 400 < xs[1]
    assert result.alpha[:, :400].max() > 0.3 and result.alpha[:, 400:].max() > 0.3

    blank = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    empty = Predictor(rt, finder).predict(blank)
    assert empty.faces == [] and empty.alpha.shape == (240, 320) and not empty.alpha.any()
    assert np.array_equal(overlay_image(blank, empty.alpha), blank)


def test_tracking_follows_a_moving_face_without_the_detector(astronaut):
    tracker = FaceFinder(redetect_every=100)
    frames = [_frame_with(astronaut, (640, 480), 200 + 4 * t, 100 + 2 * t, 220) for t in range(8)]
    tracked = [tracker.track(f) for f in frames]
    assert tracker.stats == {"detect": 1, "track": 7}
    assert all(len(t) == 1 for t in tracked)
    first = FaceFinder().find(frames[0])[0]
    for t, faces in enumerate(tracked):
        shift = faces[0].mean(axis=0) - first.mean(axis=0)
        assert np.allclose(shift, (4 * t, 2 * t), atol=2.5), (t, shift)
    # On a still frame the mesh crop stays put, so the landmarks do not wander (no feedback of their noise).
    still = [tracker.track(frames[-1])[0] for _ in range(4)]
    assert all(np.array_equal(still[1], s) for s in still[2:])
    # A face lost by the mesh and the detectors (a hand passing over it) is held at its last landmarks for
    # hold_frames frames, the detectors running again on each; then it is dropped.
    blank = np.full((480, 640, 3), 60, np.uint8)
    held = [tracker.track_faces(blank) for _ in range(tracker.hold_frames)]
    assert all(len(h) == 1 and h[0].found_by == "held" and np.array_equal(h[0].landmarks, still[-1]) for h in held)
    assert tracker.track(blank) == []
    assert tracker.stats["detect"] == 2 + tracker.hold_frames


def test_tracking_without_hold_drops_a_lost_face_at_once(astronaut):
    tracker = FaceFinder(redetect_every=100, hold_frames=0)
    assert len(tracker.track(_frame_with(astronaut, (640, 480), 200, 100, 220))) == 1
    assert tracker.track(np.full((480, 640, 3), 60, np.uint8)) == []
    with pytest.raises(ValueError, match="hold_frames"):
        FaceFinder(hold_frames=-1)


def test_alpha_smoother_damps_flicker_and_follows_motion():
    sm = AlphaSmoother(strength=0.6, motion=0.3)
    base = np.full((4, 4), 0.5, np.float32)
    assert np.array_equal(sm(base), base)
    flicker = sm(base + 0.1)
    assert np.all(flicker > 0.5) and np.all(flicker < 0.6)  # a small change is damped
    jump = sm(np.ones((4, 4), np.float32))
    assert np.allclose(jump, 1.0)  # a change beyond the motion threshold passes at once
    with pytest.raises(ValueError, match="strength"):
        AlphaSmoother(strength=1.0)


def test_collect_inputs(tmp_path):
    (tmp_path / "set" / "sub").mkdir(parents=True)
    for rel in ("set/a.png", "set/sub/b.jpg", "set/notes.txt", "a.png"):
        (tmp_path / rel).write_bytes(b"x")
    pairs = collect_inputs([tmp_path / "set", tmp_path / "a.png", tmp_path / "a.png"])
    stems = [str(s) for _, s in pairs]
    assert stems == ["set/a", "set/sub/b", "a", "a-2"]
    with pytest.raises(PredictInputError, match="does not exist"):
        collect_inputs([tmp_path / "missing.png"])
    with pytest.raises(PredictInputError, match="unsupported"):
        collect_inputs([tmp_path / "set" / "notes.txt"])


@pytest.mark.slow
def test_predict_paths_photos_and_video(astronaut, checkpoints, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(astronaut).save(src / "astronaut.png")
    Image.fromarray(np.full((64, 96, 3), 128, np.uint8)).save(src / "noface.jpg")
    with VideoWriter(src / "clip.mp4", 10, (320, 240)) as vw:
        for t in range(6):
            vw.write(_frame_with(astronaut, (320, 240), 100 + 3 * t, 20, 180))
    runtime = load_runtime(checkpoints["student"])
    assert isinstance(runtime, TorchRuntime) and runtime.input_size == 128
    out = tmp_path / "out"
    summaries = predict_paths([src], out, runtime, effect="recolor", smooth=0.5, progress=False)
    by_name = {Path(s["input"]).name: s for s in summaries}
    assert by_name["astronaut.png"]["faces"] == 1 and by_name["noface.jpg"]["faces"] == 0
    # How each face was found is reported: detector box, then the face mesh around it.
    (found,) = by_name["astronaut.png"]["found"]
    assert found["found_by"] == "mesh" and found["detector"] == "yunet" and len(found["box"]) == 4
    assert by_name["noface.jpg"]["found"] == []
    alpha = Image.open(out / "in" / "astronaut_alpha.png")
    assert alpha.mode == "L" and alpha.size == (512, 512)
    a = np.asarray(alpha)
    assert a.max() > 0 and a[:10, :10].max() == 0  # matte inside the face crop only
    noface = np.asarray(Image.open(out / "in" / "noface_recolor.png"))
    assert np.array_equal(noface, np.full((64, 96, 3), 128, np.uint8))  # frames without faces pass through
    clip = by_name["clip.mp4"]
    assert clip["frames"] == 6 and clip["frames_with_faces"] == 6
    for kind in ("alpha", "overlay", "recolor"):
        info = video_info(out / "in" / f"clip_{kind}.mp4")
        assert (info.width, info.height, info.frames) == (320, 240, 6)
    first = next(read_frames(out / "in" / "clip_alpha.mp4"))
    assert first.shape == (240, 320, 3) and first.max() > 50 and first[:5, :5].max() < 20
    assert json.loads((out / "predictions.json").read_text()) == summaries
    with pytest.raises(PredictInputError, match="teacher"):
        predict_paths([src / "astronaut.png"], out, runtime, uncertainty=True, progress=False)


def test_teacher_uncertainty_and_cli(astronaut, checkpoints, tmp_path):
    from facemat.scripts.predict import main

    Image.fromarray(astronaut).save(tmp_path / "astronaut.png")
    out = tmp_path / "out"
    rc = main(["--checkpoint", str(checkpoints["teacher"]), str(tmp_path / "astronaut.png"), "--out", str(out),
               "--uncertainty", "--effect", "makeup", "--quiet"])
    assert rc == 0
    unc = np.asarray(Image.open(out / "astronaut_uncertainty.png"))
    assert unc.shape == (512, 512, 3) and unc[-5:, -5:].max() == 0 and unc[140:160, 220:240].min() > 0
    assert (out / "astronaut_makeup.png").is_file() and (out / "astronaut_overlay.png").is_file()
    assert main(["--checkpoint", str(checkpoints["teacher"]), str(tmp_path / "nope.png"), "--out", str(out)]) == 2


def test_broken_files_are_reported_and_skipped(astronaut, checkpoints, tmp_path, capsys):
    from facemat.scripts.predict import main

    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(astronaut).save(src / "a.png")
    (src / "broken.jpg").write_bytes(b"not a jpeg")
    (src / "broken.mp4").write_bytes(b"not a video")
    out = tmp_path / "out"
    assert main(["--checkpoint", str(checkpoints["student"]), str(src), "--out", str(out), "--quiet"]) == 1
    summaries = {Path(s["input"]).name: s for s in json.loads((out / "predictions.json").read_text())}
    assert summaries["a.png"]["faces"] == 1 and (out / "in" / "a_alpha.png").is_file()
    assert "unreadable" in summaries["broken.jpg"]["error"] and "broken.mp4" in summaries["broken.mp4"]["error"]
    assert not [f for f in out.rglob("*") if "broken" in f.name]  # nothing half-written for the broken files
    assert "skipped" in capsys.readouterr().err


def test_alpha_image_encoding():
    a = np.array([[0.0, 0.5, 1.0, 1.2]], np.float32)
    assert alpha_image(a).tolist() == [[0, 128, 255, 255]]


@pytest.mark.slow
def test_video_without_tracking_with_uncertainty(astronaut, checkpoints, tmp_path):
    from facemat.predict import predict_video

    src = tmp_path / "clip.avi"
    with VideoWriter(src, 5, (256, 192)) as vw:
        for t in range(3):
            vw.write(_frame_with(astronaut, (256, 192), 40 + 5 * t, 10, 170))
    predictor = Predictor(load_runtime(checkpoints["teacher"]), FaceFinder())
    summary = predict_video(predictor, src, tmp_path / "out", "clip", uncertainty=True, track=False, progress=False)
    assert summary["frames"] == summary["frames_with_faces"] == 3
    assert predictor.finder.stats["detect"] == 3 and predictor.finder.stats["track"] == 0
    heat = list(read_frames(tmp_path / "out" / "clip_uncertainty.mp4"))
    assert len(heat) == 3 and heat[0].shape == (192, 256, 3) and heat[0][-3:, -3:].max() < 30
