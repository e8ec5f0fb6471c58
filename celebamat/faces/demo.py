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
from celebamat.faces.align import align_image
from celebamat.faces.base import FaceSource
from celebamat.faces.face_zones import face_regions, fill_polygons
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


#: The glasses each demo photo's person wears: outlines (x, y) in the photo's own continuous pixels, traced by
#: hand (lenses with their frames, and the bridge). The landmark estimator keeps light frames and clear lenses
#: as skin; the skin definition does not (the eyes and brows behind them excepted, as CelebAMask-HQ paints them).
GLASSES: dict[str, tuple[tuple[tuple[float, float], ...], ...]] = {
    "grace_hopper": (
        ((180, 176), (195, 174), (210, 173), (225, 173), (240, 175), (250, 179), (255, 187), (256, 200),
         (253, 213), (247, 222), (237, 229), (222, 231), (208, 229), (198, 222), (192, 212), (189, 200),
         (184, 193), (180, 186)),
        ((280, 178), (290, 173), (305, 170), (320, 169), (335, 170), (350, 172), (362, 175), (368, 180),
         (366, 188), (361, 197), (357, 208), (350, 218), (340, 225), (325, 230), (305, 231), (292, 229),
         (284, 223), (278, 212), (276, 200), (276, 188)),
        ((252, 179), (280, 177), (280, 185), (252, 187)),
    ),
}
#: Suffix of ``skin_source`` for a demo face whose traced glasses were cut from the estimate.
TRACED_GLASSES = "+traced-glasses"


def glasses_mask(photo: str, shape: tuple[int, int], mirror: bool = False) -> np.ndarray | None:
    """Anti-aliased ``(H, W)`` float32 mask in [0, 1] of the traced glasses of ``photo`` (``shape`` is the
    photo's), mirrored left-right with the photo; None for a photo without glasses."""
    if photo not in GLASSES:
        return None
    polys = [np.asarray(p, np.float64) for p in GLASSES[photo]]
    if mirror:
        polys = [np.column_stack([shape[1] - p[:, 0], p[:, 1]]) for p in polys]
    return fill_polygons(shape, polys)


def cut_glasses(skin: np.ndarray, glasses: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """``skin`` (S, S) with the aligned ``glasses`` mask (S, S) removed, except over the eyes and brows of the
    ``(478, 2)`` landmarks, which stay skin behind clear lenses. Never adds skin."""
    zones = face_regions(landmarks, skin.shape)
    keep = np.maximum(zones["eyes"], zones["brows"])
    return (skin * (1.0 - np.clip(glasses, 0, 1) * (1.0 - keep))).astype(np.float32)


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
        skin, skin_source = face.skin, face.skin_source
        glasses = glasses_mask(photo, img.shape[:2], mirror)
        if glasses is not None:
            aligned = align_image(glasses, face.transform, self.size, border="constant")
            skin, skin_source = cut_glasses(skin, aligned, face.landmarks), skin_source + TRACED_GLASSES
            face.notes["skin"] = skin_source
        return FaceRecord(
            face_id=key, image=face.image, skin=skin, landmarks=face.landmarks, identity=photo,
            source=self.name,
            provenance={"photo": photo, "variant": variant, "mirror": mirror, "zoom": zoom, "roll_deg": roll,
                        "gain": list(gain), "gamma": gamma, "original_size": [int(img.shape[1]), int(img.shape[0])],
                        "transform": face.transform.round(6).tolist(), "license": DEMO_LICENSE, **face.notes},
            skin_source=skin_source,
        )
