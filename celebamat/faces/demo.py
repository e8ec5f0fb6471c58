"""``demo``: the public-domain face photos that installed packages ship, in several aligned variants.

Photos: ``astronaut`` (``skimage.data.astronaut()``, NASA portrait of Eileen Collins, public domain) and
``grace_hopper`` (matplotlib sample data, U.S. Navy portrait of Grace Hopper, public domain). Nothing is
downloaded. Each photo yields :data:`VARIANTS`: the plain alignment, a mirror, tighter/looser crops, a
small roll either way and mild colour/exposure changes, each landmarked again after the change. The
variants are fixed (no randomness), so a demo build is reproducible.
"""

from __future__ import annotations

import numpy as np

from celebamat.errors import CelebAMatError, FaceSkipped
from celebamat.faces.base import FaceSource
from celebamat.faces.photo import align_photo, locate_face
from celebamat.faces.record import FaceRecord

DEMO_LICENSE = ("Public domain: NASA portrait of astronaut Eileen Collins (shipped as skimage.data.astronaut) "
                "and U.S. Navy portrait of Grace Hopper (matplotlib sample data grace_hopper.jpg).")

#: name -> (mirror, zoom, roll in degrees, per-channel gain (R, G, B), gamma). ``m0`` is the plain face.
VARIANTS: dict[str, tuple[bool, float, float, tuple[float, float, float], float]] = {
    "m0": (False, 1.00, 0.0, (1.00, 1.00, 1.00), 1.00),
    "m1": (True, 1.00, 0.0, (1.00, 1.00, 1.00), 1.00),
    "m2": (False, 1.12, 5.0, (1.04, 1.00, 0.95), 0.90),
    "m3": (True, 0.92, -6.0, (0.96, 1.00, 1.05), 1.10),
    "m4": (False, 0.95, -3.0, (1.00, 0.97, 0.93), 1.18),
    "m5": (True, 1.06, 3.0, (1.06, 1.02, 1.00), 0.85),
}


def demo_photo(name: str) -> np.ndarray:
    """The demo photo ``astronaut`` or ``grace_hopper`` as ``(H, W, 3)`` uint8 RGB."""
    try:
        if name == "astronaut":
            from skimage import data

            return np.ascontiguousarray(data.astronaut()[..., :3])
        if name == "grace_hopper":
            from matplotlib import cbook

            from celebamat.faces.io import read_image

            return read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    except ImportError as exc:
        raise CelebAMatError(f"the demo face source needs {exc.name} (pip install scikit-image matplotlib)") from exc
    raise KeyError(f"unknown demo photo {name!r}; known: {', '.join(DEMO_PHOTOS)}")


DEMO_PHOTOS = ("astronaut", "grace_hopper")


def _recolor(image: np.ndarray, gain: tuple[float, float, float], gamma: float) -> np.ndarray:
    x = image.astype(np.float32) / 255.0
    x = np.clip(x * np.asarray(gain, np.float32), 0, 1) ** gamma
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


class DemoSource(FaceSource):
    """Aligned variants of the demo photos; keys ``demo:<photo>-<variant>``, identity = the photo name."""

    name = "demo"
    license = DEMO_LICENSE

    def __init__(self, spec: str = "demo", size: int = 512, variants: list[str] | None = None) -> None:
        super().__init__(spec, size)
        names = list(VARIANTS) if variants is None else list(variants)
        bad = [v for v in names if v not in VARIANTS]
        if bad:
            raise CelebAMatError(f"unknown demo variants {bad}; known: {', '.join(VARIANTS)}")
        self.variants = names
        self._photos: dict[tuple[str, bool], tuple[np.ndarray, np.ndarray]] = {}

    def keys(self) -> list[str]:
        return sorted(f"demo:{p}-{v}" for p in DEMO_PHOTOS for v in self.variants)

    def _split(self, key: str) -> tuple[str, str]:
        photo, _, variant = key.partition(":")[2].rpartition("-")
        if photo not in DEMO_PHOTOS or variant not in self.variants:
            raise KeyError(f"no demo face {key!r}; keys: {', '.join(self.keys())}")
        return photo, variant

    def identity(self, key: str) -> str | None:
        return self._split(key)[0]

    def _photo(self, photo: str, mirror: bool, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Photo (mirrored or not) and its landmarks, cached: the detector runs once per photo and side."""
        if (photo, mirror) not in self._photos:
            img = demo_photo(photo)
            if mirror:
                img = np.ascontiguousarray(img[:, ::-1])
            self._photos[(photo, mirror)] = (img, locate_face(img, key))
        return self._photos[(photo, mirror)]

    def load(self, key: str) -> FaceRecord:
        photo, variant = self._split(key)
        mirror, zoom, roll, gain, gamma = VARIANTS[variant]
        img, pts = self._photo(photo, mirror, key)
        if gain != (1.0, 1.0, 1.0) or gamma != 1.0:
            img = _recolor(img, gain, gamma)
        # The astronaut photo is only 512 px: allow a little more upsampling than for user photos.
        face = align_photo(img, self.size, key, landmarks=pts, zoom=zoom, roll_deg=roll, max_upsampling=4.0)
        if face.notes.get("landmarks"):
            raise FaceSkipped(key, "no face", "the face mesh lost the aligned demo face")
        return FaceRecord(
            face_id=key, image=face.image, skin=face.skin, landmarks=face.landmarks, identity=photo,
            source=self.name,
            provenance={"photo": photo, "variant": variant, "mirror": mirror, "zoom": zoom, "roll_deg": roll,
                        "gain": list(gain), "gamma": gamma, "original_size": [int(img.shape[1]), int(img.shape[0])],
                        "transform": face.transform.round(6).tolist(), "license": DEMO_LICENSE, **face.notes},
            skin_source=face.skin_source,
        )
