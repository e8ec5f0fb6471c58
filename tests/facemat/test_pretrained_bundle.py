"""Pretrained models: bundling a run, the bundled default, ``hf-hub:`` checkpoints and ``facemat-push``.

A tiny student (64 px, untrained but with a head biased towards skin, so its mattes are not flat) is written as a
run folder and bundled; the push tests run the real ``huggingface_hub`` client against the local test Hub
(``tests/hub_server.py``). The last tests check the model that ships in the package.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hub_tokens import TOKEN_ALICE, TOKEN_BOB
from skimage import data as skdata

import facemat
from facemat import pretrained
from facemat.card import load_scores
from facemat.bundle import bundle_run
from facemat.pretrained import DEFAULT_MODEL, PretrainedError, resolve_model


@pytest.fixture(scope="module")
def astronaut_photo(tmp_path_factory) -> Path:
    from PIL import Image

    path = tmp_path_factory.mktemp("photo") / "astronaut.png"
    Image.fromarray(skdata.astronaut()).save(path)
    return path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A run folder as facemat-train leaves it (model.safetensors + config.json), its dataset's manifest beside."""
    import torch

    from facemat.checkpoint import save_checkpoint
    from facemat.models import create_model

    root = tmp_path_factory.mktemp("train")
    (root / "data").mkdir()
    (root / "data" / "manifest.json").write_text(json.dumps({
        "name": "tiny", "splits": {"train": 8, "test": 2},
        "faces": {"source": "folder:photos", "faces_used": 5, "license": "User-supplied photos: licence unknown."},
        "occluder_library": {"assets": 12}, "recipe": {"occluders": {"bundled": True}}}))
    torch.manual_seed(0)
    model = create_model("student").eval()
    with torch.no_grad():
        model.head.weight.mul_(4.0)
        model.head.bias.fill_(0.5)
    config = {"model": "student", "model_kwargs": {}, "input_size": 64, "role": "student", "out": "runs/tiny",
              "data": {"path": "data"}}
    run = root / "runs" / "tiny"
    save_checkpoint(run / "model.safetensors", model, config)
    (run / "config.json").write_text(json.dumps(config))
    return run


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("scores")
    synth = d / "synth.json"
    synth.write_text(json.dumps({"count": 2, "data": "tiny", "split": "test", "iou": 0.8123, "acc": 0.9, "recall": 0.85,
                                 "sad_whole": 1.5, "mse_whole": 0.01}))
    bench = d / "benchmark.json"
    bench.write_text(json.dumps({"benchmark": "folder:segface_gt", "count": 16, "methods": ["tiny", "mesh-oval"],
                                 "means": {"tiny": {"iou": 0.8612, "acc": 0.95, "recall": 0.9},
                                           "mesh-oval": {"iou": 0.7011, "acc": 0.9, "recall": 0.97}}}))
    return [synth, bench]


@pytest.fixture(scope="module")
def bundle(tiny_run, scores, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("weights") / "tiny-student"
    result = bundle_run(tiny_run, out, scores=scores, commit="0123abc")
    assert result.folder == out and result.files == ["model.safetensors", "config.json", "model.onnx", "README.md"]
    return out


def _mattes(runtime, photo: Path, out: Path) -> bytes:
    from facemat.predict import predict_paths

    predict_paths([photo], out, runtime, progress=False)
    return (out / "astronaut_alpha.png").read_bytes()


def test_bundle_stores_half_precision_weights_and_a_config(bundle, tiny_run):
    from safetensors import safe_open

    with safe_open(str(bundle / "model.safetensors"), framework="pt") as f:
        dtypes = {f.get_tensor(k).dtype for k in f.keys()}
        meta = f.metadata()
    import torch

    assert torch.float16 in dtypes and torch.float32 not in dtypes
    assert json.loads(meta["facemat"])["input_size"] == 64 and meta["dtype"] == "float16"
    cfg = json.loads((bundle / "config.json").read_text())
    assert cfg["library"] == "facemat" and cfg["model"] == "student" and cfg["dtype"] == "float16"
    assert cfg["commit"] == "0123abc" and cfg["training"]["data"] == {"path": "data"}
    assert cfg["float32_tensors"] == []  # a well-conditioned run: nothing kept in float32
    assert (bundle / "model.safetensors").stat().st_size < 0.6 * (tiny_run / "model.safetensors").stat().st_size


def test_half_precision_mattes_match_the_run_within_tolerance(bundle, tiny_run, astronaut_photo):
    from facemat.predict import Predictor
    from facemat.runtime import load_runtime

    photo = skdata.astronaut()
    full = Predictor(load_runtime(tiny_run)).predict(photo).alpha
    half = Predictor(load_runtime(bundle)).predict(photo).alpha
    assert full.max() > 0.5 and full.std() > 0.05  # not a flat matte: the comparison means something
    assert np.abs(full - half).max() <= pretrained.FP16_MAX_ABS
    assert np.abs(full - half).mean() <= pretrained.FP16_MEAN_ABS


def test_bundled_onnx_runs_and_agrees_with_torch(bundle):
    from facemat.runtime import OnnxRuntime, load_runtime

    before = sorted(p.name for p in bundle.iterdir())
    onnx = load_runtime(bundle, runtime="onnx")
    assert isinstance(onnx, OnnxRuntime) and onnx.path == bundle / "model.onnx"  # the folder's graph, not re-exported
    torch_rt = load_runtime(bundle)
    x = np.random.default_rng(0).random((2, 3, 64, 64), dtype=np.float32)
    assert np.abs(onnx(x)["alpha"] - torch_rt(x)["alpha"]).max() <= 1e-4
    assert sorted(p.name for p in bundle.iterdir()) == before


def test_card_names_the_tensors_kept_in_float32(bundle):
    from facemat.card import model_card

    training = json.loads((bundle / "config.json").read_text())["training"]
    kept = model_card("m", training, [], [], "abc", float32_tensors=("context.branch.0.weight",))
    assert "Kept in float32, as half precision would move the mattes: context.branch.0.weight." in kept.text
    assert "Kept in float32" not in model_card("m", training, [], [], "abc").text


def test_card_metadata_parses_and_says_what_the_weights_may_be_used_for(bundle):
    from huggingface_hub import ModelCard

    card = ModelCard.load(bundle / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "other" and data["license_name"] == pretrained.RESEARCH_LICENSE_NAME
    assert data["library_name"] == "facemat" and data["pipeline_tag"] == "image-segmentation"
    assert {"face-matting", "onnx", "safetensors"} <= set(data["tags"])
    assert {"iou", "recall"} <= set(data["metrics"])
    results = {(r.dataset_name, r.metric_type): r.metric_value for r in card.data.eval_results}
    assert results[("folder:segface_gt", "iou")] == 0.8612 and results[("tiny (test)", "iou")] == 0.8123
    assert results[("folder:segface_gt", "accuracy")] == 0.95
    text = card.text
    assert "non-commercial research use only" in text and "Apache-2.0" in text
    assert "real face photos (a folder), 5 faces" in text and "licence unknown" in text
    assert "`0123abc`" in text and '"input_size": 64' in text
    assert "| mesh-oval | 0.701 |" in text and "| tiny | 0.861 |" in text
    for section in ("## Training data and licences", "## Training recipe", "## Scores", "## Limitations",
                    "## Intended use"):
        assert section in text


def test_bundle_refuses_a_run_without_final_weights(tmp_path):
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "last.safetensors").write_bytes(b"x")
    with pytest.raises(PretrainedError, match="unfinished run: pass .*last.safetensors"):
        bundle_run(tmp_path / "run", tmp_path / "out")
    with pytest.raises(PretrainedError, match="not a facemat-eval result"):
        load_scores([_write(tmp_path / "s.json", {"hello": 1})])


def _write(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def bundled_default(bundle, tmp_path, monkeypatch) -> Path:
    """The tiny bundle installed as the package's default model."""
    import shutil

    weights = tmp_path / "weights"
    shutil.copytree(bundle, weights / DEFAULT_MODEL)
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", weights)
    return weights / DEFAULT_MODEL


def test_commands_without_a_checkpoint_use_the_bundled_model_and_say_so(bundled_default, astronaut_photo, tmp_path,
                                                                         capsys):
    from facemat.scripts.export import main as export_main
    from facemat.scripts.predict import main as predict_main

    sha = pretrained._sha256(bundled_default / "model.safetensors")[:12]
    line = f"model: bundled {DEFAULT_MODEL} (sha256 {sha})"
    out = tmp_path / "out"
    assert predict_main([str(astronaut_photo), "--effect", "recolor", "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert line in captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["model"] == line.removeprefix("model: ")
    assert (out / "astronaut_recolor.png").is_file() and (out / "astronaut_alpha.png").is_file()

    assert export_main(["--onnx", str(tmp_path / "m.onnx")]) == 0
    captured = capsys.readouterr()
    assert line in captured.err and json.loads(captured.out)["model_source"] == line.removeprefix("model: ")

    assert facemat.list_pretrained() == [DEFAULT_MODEL]
    rt = facemat.load_pretrained()
    assert rt.model_ref.kind == "bundled" and rt.model_ref.describe() == line
    assert resolve_model("bundled:" + DEFAULT_MODEL).checkpoint == bundled_default / "model.safetensors"
    with pytest.raises(PretrainedError, match="no bundled model 'nope'"):
        facemat.load_pretrained("nope")


def test_eval_on_a_split_without_a_checkpoint_uses_the_bundled_model(bundled_default, tiny_dataset, capsys):
    from facemat.scripts.evaluate import main

    assert main(["--data", str(tiny_dataset), "--limit", "2", "--batch-size", "2"]) == 0
    assert capsys.readouterr().out.startswith(f"model: bundled {DEFAULT_MODEL} (sha256 ")


# ----------------------------------------------------------------------------------------------------------
# The Hub


def test_push_then_hf_hub_checkpoint_gives_the_same_mattes(hub, hub_client, bundle, astronaut_photo, tmp_path,
                                                           monkeypatch):
    from facemat.hub import push_model
    from facemat.runtime import load_runtime

    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    result = push_model(bundle, "alice/tiny-student", token=TOKEN_ALICE)
    assert result.private is True and hub.state.models["alice/tiny-student"].private is True  # private by default
    assert result.uploaded == ["model.safetensors", "config.json", "model.onnx", "README.md"] and result.commit
    assert result.checkpoint == "hf-hub:alice/tiny-student"
    assert "alice/tiny-student" not in hub.state.repos  # a model repo, not a dataset

    again = push_model(bundle, "alice/tiny-student", token=TOKEN_ALICE)  # idempotent: no new commit
    assert again.commit is None and again.uploaded == [] and len(again.skipped) == 4
    assert len(hub.commits("alice/tiny-student", repo_type="model")) == 2  # the repo's first commit + one push

    with pytest.raises(PretrainedError, match="not found or not visible"):  # private: no token, no model
        load_runtime("hf-hub:alice/tiny-student")
    monkeypatch.setenv("HF_TOKEN", TOKEN_ALICE)
    remote = load_runtime("hf-hub:alice/tiny-student")
    assert remote.model_ref.kind == "hub" and remote.model_ref.describe().startswith("model: hf-hub:alice/tiny-student")
    local = load_runtime(bundle)
    assert remote.model_ref.sha256 == local.model_ref.sha256
    assert _mattes(remote, astronaut_photo, tmp_path / "hub") == _mattes(local, astronaut_photo, tmp_path / "local")
    onnx = load_runtime("hf-hub:alice/tiny-student", runtime="onnx")
    assert onnx.path.name == "model.onnx"
    commit = hub.commits("alice/tiny-student", repo_type="model")[0].oid
    assert load_runtime(f"hf-hub:alice/tiny-student@{commit}").model_ref.sha256 == local.model_ref.sha256


def test_push_command_bundles_a_run_and_reports(hub, hub_client, tiny_run, scores, monkeypatch, capsys):
    from facemat.scripts.push import main

    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    argv = [str(tiny_run), "--repo-id", "alice/run-student", "--token", TOKEN_ALICE, "--scores", str(scores[1])]
    assert main(argv) == 0
    out = capsys.readouterr()
    assert "Pushed 4 file(s) in 1 commit" in out.out and f"Model (private): {hub.url}/alice/run-student" in out.out
    assert "--checkpoint hf-hub:alice/run-student" in out.out and TOKEN_ALICE not in out.out + out.err
    files = hub.commits("alice/run-student", repo_type="model")[0].files
    assert {"model.safetensors", "config.json", "model.onnx", "README.md"} <= set(files)
    assert b"0.861" in files["README.md"].content

    assert main(argv) == 0  # same run, same files: nothing changes on the Hub
    assert "Nothing to push" in capsys.readouterr().out


def test_push_errors_are_messages_without_the_token(hub, hub_client, bundle, monkeypatch, capsys):
    from facemat.scripts.push import main

    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    assert main([str(bundle), "--repo-id", "alice/m"]) == 2  # no token anywhere
    assert "no Hugging Face token" in capsys.readouterr().err
    assert main([str(bundle), "--repo-id", "alice/m", "--token", "hf_bad_token_123"]) == 2
    err = capsys.readouterr().err
    assert "rejected the token" in err and "hf_bad_token_123" not in err
    assert main([str(bundle), "--repo-id", "alice/m", "--token", TOKEN_BOB]) == 2  # bob may not write to alice/*
    assert "no write access to model alice/m" in capsys.readouterr().err
    assert main([str(bundle), "--repo-id", "alice/m", "--token", TOKEN_ALICE, "--public"]) == 2  # no terminal
    assert "--yes" in capsys.readouterr().err and "alice/m" not in hub.state.models
    assert main([str(bundle), "--repo-id", "alice/m", "--token", TOKEN_ALICE, "--public", "--yes"]) == 0
    assert hub.state.models["alice/m"].private is False
    assert main([str(bundle), "--repo-id", "alice/m", "--token", TOKEN_ALICE]) == 2  # private push to a public repo
    assert "already exists and is public" in capsys.readouterr().err
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(PretrainedError, match="not in the Hugging Face cache"):
        resolve_model("hf-hub:alice/never-pushed")


# ----------------------------------------------------------------------------------------------------------
# The model that ships in the package


def test_the_shipped_model_is_complete_small_and_documented():
    from huggingface_hub import ModelCard

    folder = pretrained.pretrained_dir()
    assert folder.name == DEFAULT_MODEL and DEFAULT_MODEL in pretrained.list_pretrained()
    size = sum(p.stat().st_size for p in folder.iterdir())
    assert size < 15 * 1024 * 1024, f"the bundled model grows the package by {size / 2**20:.1f} MB"
    assert {p.name for p in folder.iterdir()} == {"model.safetensors", "config.json", "model.onnx", "README.md"}
    card = ModelCard.load(folder / "README.md")
    assert card.data.license == "other" and card.data.library_name == "facemat"
    assert "non-commercial research use only" in card.text and "Apache-2.0" in card.text
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["dtype"] == "float16" and cfg["model"] == "student"
    rt = facemat.load_pretrained(runtime="onnx")
    x = np.random.default_rng(0).random((1, 3, rt.input_size, rt.input_size), dtype=np.float32)
    assert np.abs(rt(x)["alpha"] - facemat.load_pretrained()(x)["alpha"]).max() <= 1e-4
