"""Golden samples: a fixed face and occluder library rendered and encoded exactly as a build writes rows.

The face (image, skin matte, landmarks) is stored in ``golden/`` rather than computed, so no face mesh is
involved, and the library is the tests' own (drawn with OpenCV's bit-exact 8-bit operations). What remains
is sampling, placement, rendering, realism and encoding: the code whose bytes ``SAMPLE_FORMAT_VERSION``
versions. Run under :func:`baseline_cpu_env` the result is the same on any x86-64 CPU.

    python tests/celebamat/synth/golden.py --update     # after bumping SAMPLE_FORMAT_VERSION
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent / "golden"
#: Samples rendered (indices of the recipe below); they cover 0 to 3 occluders of every kind.
INDICES = tuple(range(12))
#: Packages whose versions change encoded bytes without any change of ours (see the build key).
VERSIONED = ("numpy", "opencv-contrib-python", "pillow", "zlib-ng")
RECIPE = """
name = "golden"
seed = 11
[faces]
source = "demo"
size = 192
[splits]
train = 12
validation = 0
test = 0
assign = "sample"
[occluders]
bundled = false
extra_libraries = ["{library}"]
count = [0.0, 0.4, 0.4, 0.2]
kinds = {{ hand = 0.3, hair = 0.25, accessory = 0.25, translucent = 0.2 }}
[realism]
# Up to 15 px at 192 px: both paths of realism.motion_blur (one direct call up to 11 px, blocks above).
motion_blur = {{ probability = 0.3, range = [10.0, 40.0] }}
[output]
image_format = "jpeg"
jpeg_quality = 95
store_clean = true
"""


def golden_face():
    """The stored face as a :class:`FaceRecord` (192 px, the demo astronaut, public domain)."""
    from PIL import Image

    from celebamat.faces.record import FaceRecord

    meta = json.loads((HERE / "face.json").read_text())
    image = np.asarray(Image.open(HERE / "face.png").convert("RGB"))
    skin = np.asarray(Image.open(HERE / "skin.png")).astype(np.float32) / 255.0
    return FaceRecord(face_id="golden:astronaut", image=image, skin=skin,
                      landmarks=np.asarray(meta["landmarks"], np.float32), identity=None, source="demo")


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    return {p: md.version(p) for p in VERSIONED}


def render_golden() -> dict:
    """Per sample: sha256 of every encoded cell and of the params, and the decoded image's and alpha's 8 x 8 block means
    (a coarse summary that survives a change of encoder version); plus the versions that shaped the bytes."""
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from conftest import make_library  # the tests' library (tests/celebamat/conftest.py)

    from celebamat.dataset.recipe import load_recipe
    from celebamat.dataset.schema import SAMPLE_FORMAT_VERSION
    from celebamat.dataset.rows import render_face_row
    from celebamat.dataset.worker import library_for
    from celebamat.utils.images import decode_image

    face = golden_face()
    with tempfile.TemporaryDirectory() as tmp:
        lib = make_library(Path(tmp) / "lib")
        (Path(tmp) / "r.toml").write_text(RECIPE.format(library=lib))
        recipe = load_recipe(Path(tmp) / "r.toml")
        library = library_for(recipe)
        samples = []
        for i in INDICES:
            row, _ = render_face_row(recipe, library, face, "train", i, i)
            cells = {c: row[c]["bytes"] for c in ("image", "alpha", "skin", "occluder_alpha", "clean")}
            blocks = {}
            for c in ("image", "alpha"):
                px = decode_image(cells[c], gray=c == "alpha").astype(np.float64)
                px = px.reshape(8, px.shape[0] // 8, 8, px.shape[1] // 8, -1).mean(axis=(1, 3))
                blocks[c] = np.round(px, 3).tolist()
            samples.append({
                "index": i,
                "occluders": [f"{o['kind']}/{o['asset_id']}" for o in row["occluders"]],
                "sha256": {c: hashlib.sha256(b).hexdigest() for c, b in cells.items()},
                "params_sha256": hashlib.sha256(row["params"].encode()).hexdigest(),
                "blocks": blocks,
            })
    return {"sample_format": SAMPLE_FORMAT_VERSION, "versions": _versions(), "samples": samples}


def _make_face(size: int = 192) -> None:
    """Write ``golden/face.*`` from the demo astronaut (run once; the stored files are then the truth)."""
    from PIL import Image

    from celebamat.faces import open_source

    rec = open_source("demo", size=size).load("demo:astronaut-m0")
    HERE.mkdir(exist_ok=True)
    Image.fromarray(rec.image).save(HERE / "face.png", optimize=True)
    Image.fromarray(np.rint(rec.skin * 255).astype(np.uint8)).save(HERE / "skin.png", optimize=True)
    lm = np.round(rec.landmarks.astype(np.float64), 3).tolist()
    (HERE / "face.json").write_text(json.dumps({"source": "demo:astronaut-m0 (scikit-image, public domain)",
                                                "landmarks": lm}) + "\n")


if __name__ == "__main__":
    if "--face" in sys.argv:
        _make_face()
    if "--update" in sys.argv:
        (HERE / "samples.json").write_text(json.dumps(render_golden(), indent=1, sort_keys=True) + "\n")
    else:
        json.dump(render_golden(), sys.stdout)
