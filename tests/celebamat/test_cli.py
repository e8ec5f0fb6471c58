"""The ``celebamat`` command line: thin commands over the library, clear errors, exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from celebamat import __version__
from celebamat.cli import main


def test_python_dash_m_and_help():
    out = subprocess.run([sys.executable, "-m", "celebamat", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == f"celebamat {__version__}"
    helptext = subprocess.run([sys.executable, "-m", "celebamat", "--help"], capture_output=True, text=True).stdout
    for cmd in ("build", "verify", "preview", "push-to-hub", "faces", "occluders"):
        assert cmd in helptext


def test_malformed_recipe_is_refused_with_key_and_value(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[splits]\nassign = "random"\n')
    assert main(["build", "--recipe", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "splits.assign" in err and "'random'" in err and "identity, face, sample" in err
    assert not (tmp_path / "out").exists()


def test_wrong_face_folder_is_a_clear_error(tmp_path, capsys, recipe_factory, tiny_library_dir):
    recipe = recipe_factory(tmp_path / "r.toml", tiny_library_dir)
    code = main(["build", "--recipe", str(recipe), "--faces", f"folder:{tmp_path / 'nowhere'}",
                 "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 2
    assert "nowhere" in capsys.readouterr().err


def test_build_verify_and_preview_commands(tmp_path, capsys, recipe_factory, tiny_library_dir):
    recipe = recipe_factory(tmp_path / "r.toml", tiny_library_dir, train=4)
    out = tmp_path / "ds"
    assert main(["build", "--recipe", str(recipe), "--out", str(out), "--workers", "2", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "built 10 samples" in text and "no faces skipped" in text and f"load_dataset('{out}')" in text
    assert main(["verify", str(out)]) == 0
    assert "verify: OK" in capsys.readouterr().out
    (out / "data" / "test-00000-of-00001.parquet").write_bytes(b"broken")
    assert main(["verify", str(out), "--quick"]) == 1
    assert "[checksum]" in capsys.readouterr().out
    sheet = tmp_path / "p.png"
    assert main(["preview", "--recipe", str(recipe), "--n", "3", "--out", str(sheet)]) == 0
    from PIL import Image

    assert Image.open(sheet).size[0] > 500


@pytest.mark.parametrize("argv", [["build", "--workers", "0"], ["build", "--samples", "0"]])
def test_bad_numbers_are_refused(argv, tmp_path, capsys):
    assert main(argv + ["--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "at least 1" in capsys.readouterr().err


def test_cli_log_filter_keeps_our_info_and_everyones_warnings():
    import logging

    from celebamat.cli import _ours_or_warning

    def rec(name, level):
        return logging.LogRecord(name, level, __file__, 1, "m", None, None)

    assert _ours_or_warning(rec("celebamat.build", logging.INFO))
    assert _ours_or_warning(rec("distributed.scheduler", logging.WARNING))
    assert not _ours_or_warning(rec("distributed.scheduler", logging.INFO))
    assert not _ours_or_warning(rec("celebamatx", logging.INFO))
