import argparse

import numpy as np
from PIL import Image

from celebamat.commands import faces as faces_cmd
from celebamat.faces.inspect import contact_sheet, draw_face, inspect_source
from celebamat.faces import open_source


def test_draw_face_tints_skin(demo_faces):
    rec = demo_faces["astronaut"]
    tile = draw_face(rec, tile=128, labels=False)
    assert tile.shape == (128 + 18, 128, 3) and tile.dtype == np.uint8
    sheet = contact_sheet([rec, demo_faces["grace_hopper"]], columns=2, tile=128)
    assert sheet.shape == (146, 256, 3)
    assert contact_sheet([]).shape[2] == 3


def test_inspect_command_on_a_folder(tmp_path, astronaut, capsys):
    d = tmp_path / "in"
    d.mkdir()
    Image.fromarray(astronaut).save(d / "a.png")
    (d / "b.jpg").write_bytes(b"")
    parser = argparse.ArgumentParser()
    faces_cmd.register(parser.add_subparsers())
    out = tmp_path / "sheet.png"
    args = parser.parse_args(["faces", "inspect", f"folder:{d}", "--size", "128", "--tile", "128", "--out", str(out)])
    assert args.func(args) == 1  # written, but a face was skipped
    text = capsys.readouterr().out
    assert "faces found: 1 of 2" in text and "folder:b.jpg: empty file" in text
    sheet = np.asarray(Image.open(out))
    assert sheet.shape == (146, 128, 3)


def test_inspect_source_limit(demo_source):
    rep = inspect_source(open_source("demo", size=128), limit=3, progress=False)
    assert len(rep.records) == 3 and not rep.skipped and len(rep.load_ms) == 3
    assert "faces found: 3 of 3" in rep.summary()
