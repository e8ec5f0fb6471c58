"""facemat-eval --benchmark: the readers of each layout, the scores, the mesh-oval baseline and the reports.

Every benchmark folder here is written by the test itself; the one real face is skimage's public-domain
astronaut, found by the real mediapipe face mesh.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from celebamat.landmarks import FACE_OVAL
from facemat.benchmarks import BenchmarkError, load_benchmark
from facemat.realeval import format_summary, mesh_oval_alpha, run_benchmark, score_photo, summarise, write_reports


def _png(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def test_score_photo_against_hand_computed_values():
    gt = np.zeros((4, 5), np.float32)
    gt[1:3, 1:4] = 1.0  # 6 face pixels
    pred = np.zeros((4, 5), np.float32)
    pred[1:3, 2:5] = 0.8  # 6 predicted: 4 right, 2 wrong
    s = score_photo(pred, gt)
    assert s["iou"] == pytest.approx(4 / 8)
    assert s["acc"] == pytest.approx(16 / 20)
    assert s["recall"] == pytest.approx(4 / 6)
    assert "sad" not in s and "mse" not in s  # binary ground truth: no SAD / MSE
    soft = gt.copy()
    soft[0, 0] = 0.5
    s = score_photo(pred, soft)
    # |pred - gt|: 4 x 0.2 (right), 2 x 0.8 (false), 2 x 1.0 (missed), 0.5 at (0, 0)
    diff = 4 * 0.2 + 2 * 0.8 + 2 * 1.0 + 0.5
    sq = 4 * 0.04 + 2 * 0.64 + 2 * 1.0 + 0.25
    assert s["sad"] == pytest.approx(diff / 1000)
    assert s["mse"] == pytest.approx(sq / 20)
    assert s["iou"] == pytest.approx(4 / 9)  # (0, 0) at 0.5 counts as face


def test_mesh_oval_fills_the_oval_exactly():
    # The 36 oval points on the boundary of the rectangle x 10..50, y 20..60 (clockwise, integer pixels).
    corners = [(10, 20), (50, 20), (50, 60), (10, 60)]
    pts = []
    for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1]):
        pts += [(x0 + (x1 - x0) * t / 9, y0 + (y1 - y0) * t / 9) for t in range(9)]
    lm = np.zeros((478, 2), np.float32)
    lm[list(FACE_OVAL)] = np.array(pts, np.float32)
    oval = mesh_oval_alpha([lm], (80, 70))
    assert oval.sum() == 41 * 41  # boundary pixels included
    assert oval[20:61, 10:51].all()
    gt = oval.copy()
    gt[20:61, 10:20] = 0  # a hand covers 10 columns of the face
    s = score_photo(oval, gt)
    assert s["iou"] == pytest.approx(31 * 41 / (41 * 41))
    assert s["recall"] == 1.0
    assert s["acc"] == pytest.approx(1 - 10 * 41 / (80 * 70))
    assert mesh_oval_alpha([], (5, 6)).sum() == 0


def test_folder_layouts(tmp_path):
    img = np.full((20, 30, 3), 128, np.uint8)
    mask = np.zeros((20, 30), np.uint8)
    mask[5:15, 10:20] = 255
    # images/ + masks_face_visible/ (SegFace, RealOcc style)
    _png(tmp_path / "a" / "images" / "x.png", img)
    _png(tmp_path / "a" / "masks_face_visible" / "x.png", mask)
    (item,) = load_benchmark(f"folder:{tmp_path / 'a'}")
    assert item.name == "x" and item.load_gt().sum() == 100
    # NAME.jpg beside NAME.mask.png, and a 0/1 mask read as 0/255
    Image.fromarray(img).save(tmp_path / "b.jpg")
    (tmp_path / "flat").mkdir()
    Image.fromarray(img).save(tmp_path / "flat" / "y.jpg")
    _png(tmp_path / "flat" / "y.mask.png", (mask > 0).astype(np.uint8))
    (item,) = load_benchmark(f"folder:{tmp_path / 'flat'}")
    gt = item.load_gt()
    assert gt.max() == 1.0 and gt.sum() == 100
    # a photo without its mask is an error naming it
    _png(tmp_path / "a" / "images" / "z.png", img)
    with pytest.raises(BenchmarkError, match="z.png"):
        load_benchmark(f"folder:{tmp_path / 'a'}")
    with pytest.raises(BenchmarkError, match="KIND:DIR"):
        load_benchmark(f"nope:{tmp_path}")
    with pytest.raises(BenchmarkError, match="no photos"):
        load_benchmark(f"folder:{tmp_path / 'a' / 'masks_face_visible'}")


def test_lapa_layout(tmp_path):
    labels = np.arange(12, dtype=np.uint8).reshape(3, 4)  # ids 0..11 once each
    _png(tmp_path / "test" / "images" / "p.jpg", np.zeros((3, 4, 3), np.uint8))
    _png(tmp_path / "test" / "labels" / "p.png", labels)
    (item,) = load_benchmark(f"lapa:{tmp_path}")
    gt = item.load_gt()
    assert gt.tolist() == np.isin(labels, range(1, 10)).astype(float).tolist()  # skin .. lower lip; not hair (10)
    with pytest.raises(BenchmarkError, match="not LaPa"):
        load_benchmark(f"lapa:{tmp_path / 'test' / 'images'}")


def test_celebamask_layout(tmp_path):
    anno = tmp_path / "CelebAMask-HQ-mask-anno" / "0"
    _png(tmp_path / "CelebA-HQ-img" / "7.jpg", np.zeros((1024, 1024, 3), np.uint8))

    def part(name: str, y0: int, y1: int) -> None:
        m = np.zeros((512, 512), np.uint8)
        m[y0:y1, :] = 255
        _png(anno / f"00007_{name}.png", m)

    part("skin", 0, 300)
    part("l_eye", 100, 120)
    part("eye_g", 90, 130)  # glasses cover the eye behind them
    part("nose", 150, 200)
    part("hair", 0, 40)  # hair covers skin
    part("neck", 290, 400)  # neck is painted over the skin's lower edge
    (item,) = load_benchmark(f"celebamask-hq:{tmp_path}")
    gt = item.load_gt()
    rows = gt[:, 0]
    expected = np.zeros(512)
    expected[40:90] = 1
    expected[130:290] = 1
    assert rows.tolist() == expected.tolist()


@pytest.fixture(scope="module")
def astronaut_bench(tmp_path_factory):
    """A folder benchmark: the astronaut with her mesh oval as ground truth, and a photo without a face."""
    from facemat.predict import FaceFinder

    root = tmp_path_factory.mktemp("bench")
    photo = skdata.astronaut()
    finder = FaceFinder()
    oval = mesh_oval_alpha(finder.find(photo), photo.shape[:2])
    _png(root / "images" / "astronaut.png", photo)
    _png(root / "masks" / "astronaut.png", (oval * 255).astype(np.uint8))
    blank = np.full((200, 200, 3), 90, np.uint8)
    face = np.zeros((200, 200), np.uint8)
    face[50:150, 60:140] = 255
    _png(root / "images" / "blank.png", blank)
    _png(root / "masks" / "blank.png", face)
    return root, finder


def test_baseline_is_exact_on_its_own_oval_and_a_missing_face_fails(astronaut_bench, tmp_path):
    root, finder = astronaut_bench
    results, methods = run_benchmark(f"folder:{root}", None, ("mesh-oval",), finder=finder)
    assert methods == ["mesh-oval"]
    by = {r.name: r for r in results}
    assert by["astronaut"].faces == 1 and not by["astronaut"].failed
    assert by["astronaut"].scores["mesh-oval"] == {"iou": 1.0, "acc": 1.0, "recall": 1.0}
    assert by["blank"].failed
    assert by["blank"].scores["mesh-oval"]["iou"] == 0.0 and by["blank"].scores["mesh-oval"]["recall"] == 0.0
    summary = summarise(results, methods)
    assert summary["mesh-oval"]["iou"] == 0.5  # the failure counts in the mean
    text = format_summary(summary, len(results), ["blank"])
    assert "IoU(whole photo,@0.5)" in text and "faces not found: 1 (blank)" in text
    doc = write_reports(tmp_path / "out", f"folder:{root}", results, methods)
    assert doc["failures"] == ["blank"]
    assert json.loads((tmp_path / "out" / "benchmark.json").read_text())["means"]["mesh-oval"]["iou"] == 0.5
    rows = list(csv.DictReader((tmp_path / "out" / "benchmark.csv").open()))
    assert [r["name"] for r in rows] == ["astronaut", "blank"] and rows[1]["failed"] == "True"
    sheet = Image.open(tmp_path / "out" / "errors.png")
    assert sheet.width == 4 * 160 and sheet.height > 2 * 160
    assert not list((tmp_path / "out").glob(".*"))  # no temporary files left behind


def test_cli_scores_a_checkpoint_beside_the_baseline(astronaut_bench, tmp_path, capsys):
    import torch

    from facemat.checkpoint import save_checkpoint
    from facemat.models import create_model
    from facemat.scripts.evaluate import main

    root, _ = astronaut_bench
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "student" / "model.safetensors", create_model("student"),
                           {"model": "student", "model_kwargs": {}, "input_size": 64})
    out = tmp_path / "report"
    assert main(["--checkpoint", str(ckpt), "--benchmark", f"folder:{root}", "--baseline", "mesh-oval",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "student" in printed and "mesh-oval" in printed and "NO FACE" in printed
    doc = json.loads((out / "benchmark.json").read_text())
    assert doc["methods"] == ["student", "mesh-oval"]
    assert doc["means"]["mesh-oval"]["iou"] == 0.5
    assert 0.0 <= doc["means"]["student"]["iou"] <= 0.5  # the untrained student cannot score the failure
    assert main(["--benchmark", f"folder:{root}", "--no-model"]) == 2  # nothing to score
    assert "nothing to score" in capsys.readouterr().err


def test_cli_without_a_checkpoint_scores_the_bundled_model(astronaut_bench, tmp_path, capsys):
    from facemat.pretrained import DEFAULT_MODEL
    from facemat.scripts.evaluate import main

    root, _ = astronaut_bench
    out = tmp_path / "report"
    assert main(["--benchmark", f"folder:{root}", "--baseline", "mesh-oval", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"model: bundled {DEFAULT_MODEL} (sha256 ")
    doc = json.loads((out / "benchmark.json").read_text())
    assert doc["methods"] == [DEFAULT_MODEL, "mesh-oval"] and doc["model"].startswith(f"bundled {DEFAULT_MODEL}")
    assert doc["means"][DEFAULT_MODEL]["iou"] > 0.3  # a trained model on the astronaut's oval (the blank fails)


def test_only_the_face_the_ground_truth_marks_is_scored(tmp_path):
    """Two faces in a photo, a ground truth that marks the left one: the right face is found and left out."""
    import cv2

    from facemat.predict import FaceFinder
    from facemat.realeval import format_rows, marked_faces

    face = cv2.resize(skdata.astronaut(), (300, 300), interpolation=cv2.INTER_AREA)
    photo = np.hstack([face, face[:, ::-1]])
    finder = FaceFinder()
    faces = finder.find(photo)
    assert len(faces) == 2
    left = min(faces, key=lambda lm: float(lm[:, 0].mean()))
    gt = mesh_oval_alpha([left], photo.shape[:2])
    kept = marked_faces(faces, gt, photo.shape[:2])
    assert len(kept) == 1 and kept[0] is left
    # An empty ground truth marks no face: every face found is scored (a wrong face still costs).
    assert len(marked_faces(faces, np.zeros_like(gt), photo.shape[:2])) == 2
    _png(tmp_path / "images" / "pair.png", photo)
    _png(tmp_path / "masks" / "pair.png", (gt * 255).astype(np.uint8))
    results, methods = run_benchmark(f"folder:{tmp_path}", None, ("mesh-oval",), finder=finder)
    assert results[0].found == 2 and results[0].faces == 1
    assert results[0].scores["mesh-oval"]["iou"] == 1.0
    assert results[0].row()["found"] == 2
    table = format_rows(results, methods).splitlines()
    assert table[0].split()[:3] == ["photo", "found", "scored"] and table[1].split()[1:3] == ["2", "1"]
