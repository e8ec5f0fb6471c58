"""Awkward inputs to facemat's commands (the corpus of tests/celebamat/dataset/test_awkward_inputs.py, continued):
a decompression bomb and an oversized photo among good ones for ``facemat-predict``, numbers out of range for
``facemat-train``, and a damaged shard for ``facemat-eval`` and ``facemat-train``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image
from skimage import data as skdata


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> Path:
    """A tiny untrained student checkpoint (128 px input)."""
    import torch

    from facemat.checkpoint import save_checkpoint
    from facemat.models import create_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "student.safetensors"
    save_checkpoint(path, create_model("student").eval(), {"model": "student", "model_kwargs": {}, "input_size": 128})
    return path


def test_predict_skips_a_bomb_and_downscales_a_large_photo(student, tmp_path, bomb_png, monkeypatch, capsys):
    import celebamat.faces.io as fio
    from facemat.scripts.predict import main

    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(skdata.astronaut()).save(src / "a.png")
    shutil.copy(bomb_png, src / "b_bomb.png")  # 400 MP: refused from its header, the run goes on
    Image.fromarray(skdata.astronaut()).save(src / "c_large.jpg", quality=90)
    monkeypatch.setattr(fio, "LARGE_IMAGE_PIXELS", 200_000)  # c_large (and a) stand for photos above 40 MP
    out = tmp_path / "out"
    assert main(["--checkpoint", str(student), str(src), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"skipped {src / 'b_bomb.png'}" in err and "image too large" in err
    summaries = {Path(s["input"]).name: s for s in json.loads((out / "predictions.json").read_text())}
    assert "400 MP" in summaries["b_bomb.png"]["error"]
    for name in ("a", "c_large"):
        s = summaries[f"{name}.png" if name == "a" else f"{name}.jpg"]
        assert s["faces"] == 1 and s["downscaled_from"] == [512, 512] and s["size"] == [447, 447]
        assert Image.open(out / "in" / f"{name}_alpha.png").size == (447, 447)
    assert not [f for f in out.rglob("*") if "bomb" in f.name]


def test_predict_output_folder_under_a_file_is_one_sentence(student, tmp_path, capsys):
    from facemat.scripts.predict import main

    Image.fromarray(skdata.astronaut()).save(tmp_path / "a.png")
    (tmp_path / "file").write_text("x")
    assert main(["--checkpoint", str(student), str(tmp_path / "a.png"), "--out", str(tmp_path / "file" / "o")]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]  # besides the line naming the model that ran
    assert len(errors) == 1 and "cannot create this folder" in errors[0] and str(tmp_path / "file" / "o") in errors[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("argv,message", [
    (["--max-steps", "0"], "--max-steps must be at least 1"),
    (["--max-steps", "-1"], "--max-steps must be at least 1"),
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--lr", "nan"], "optim.lr must be a finite number"),
    (["--lr", "0"], "--lr / optim.lr must be above 0"),
    (["--set", "optim.max_steps=-5"], "optim.max_steps must be an integer >= 0"),
    (["--threads", "-2"], "threads must be an integer >= 0"),
])
def test_train_refuses_numbers_out_of_range(argv, message, tiny_dataset, tmp_path, capsys):
    from facemat.scripts.train import main

    run = tmp_path / "run"
    assert main(["--recipe", "recipes/facemat-teacher.toml", "--data", str(tiny_dataset), "--out", str(run),
                 *argv]) == 2
    assert message in capsys.readouterr().err
    assert not run.exists()  # nothing trained, nothing written


def test_eval_and_train_check_the_manifest_checksums(student, tiny_dataset, tmp_path, capsys):
    from celebamat.utils.io import sha256_file
    from facemat.scripts.evaluate import main as evaluate
    from facemat.scripts.train import main as train

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    shards = sorted((data / "data").glob("*.parquet"))
    manifest = {"shards": [{"path": str(f.relative_to(data)), "split": f.name.split("-")[0],
                            "sha256": sha256_file(f)} for f in shards]}
    (data / "manifest.json").write_text(json.dumps(manifest))
    test_shard = next(f for f in shards if f.name.startswith("test"))
    damaged = bytearray(test_shard.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    test_shard.write_bytes(bytes(damaged))
    assert evaluate(["--checkpoint", str(student), "--data", str(data), "--split", "test"]) == 2
    err = capsys.readouterr().err
    assert f"{test_shard}: sha256 differs" in err and "celebamat verify" in err
    train_shard = next(f for f in shards if f.name.startswith("train"))
    train_shard.unlink()
    assert train(["--recipe", "recipes/facemat-teacher.toml", "--data", str(data), "--out", str(tmp_path / "r"),
                  "--max-steps", "1", "--device", "cpu"]) == 2
    assert f"{train_shard} is listed in" in capsys.readouterr().err
