"""Frozen, serialisable parameters of one composite: everything random about a sample, drawn once.

:func:`celebamat.synth.sampling.sample_params` draws them; :func:`celebamat.synth.render.render` is a pure
function of (face, assets, params). The params travel in each dataset row as JSON, so a row can be rendered
again from its params and the same inputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

import numpy as np


#: Decimal places every float of :class:`OccluderParams` is snapped to.
SNAP_DIGITS = 6


def _shallow_dict(obj: Any) -> dict[str, Any]:
    """A dataclass instance's fields as a new dict of the values themselves (no copies)."""
    return {name: getattr(obj, name) for name in _field_names(type(obj))}


@lru_cache(maxsize=None)
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _snap(v: float) -> float:
    return round(v, SNAP_DIGITS) + 0.0  # + 0.0 turns -0.0 into 0.0


@dataclass(frozen=True)
class OccluderParams:
    """One placed occluder.

    Attributes:
        asset_id, kind, subtype: which asset (see ``celebamat.occluders``).
        transform: 2 x 3 affine, row-major, from asset pixels (of the unmirrored asset) to image pixels;
            a mirrored placement has a negative determinant.
        mirrored: whether the transform mirrors the asset.
        extend: asset border that is extended to the image border (a forearm, a handle), or ``""``.
        opacity: multiplier of the asset's alpha, in [0, 1].
        depth: stacking order (bigger is on top).
        tone_transfer: strength in [0, 1] of the shift of the asset's colours towards the face's skin colour.
        light_match: strength in [0, 1] of brightness / white-balance matching to the face photo.
        shadow_opacity: darkening of the cast shadow on the layers below (0 = no shadow).
        shadow_offset: ``(dx, dy)`` shift of the shadow in pixels.
        shadow_blur: Gaussian sigma of the shadow in pixels.
        defocus_sigma: Gaussian sigma applied to colour and alpha alike (0 = sharp).
        motion_blur: length in pixels of a linear motion blur (0 = none), at ``motion_angle`` degrees.
        shade: strength in [0, 1] of the face's fitted light (``CompositeParams.light``) on the occluder's
            normals (:mod:`celebamat.synth.lighting`); ``shade_radius`` is the thickness scale of those normals
            in image pixels.
        skin_detail: strength in [0, 1] of the face's own skin detail over a hand
            (:mod:`celebamat.synth.skin_texture`), tiled from ``skin_offset = (dy, dx)`` pixels.
        hair_colour: strength in [0, 1] of the shift of a hair asset's colour to the person's own hair colour
            (:mod:`celebamat.synth.hair_colour`).
        camera_sigma: Gaussian sigma in pixels matching the photo's own softness (:mod:`celebamat.synth.camera`),
            applied to colour and alpha alike, together with ``defocus_sigma``.
        grain: noise in 8-bit levels matching the photo's own grain, added to the occluder's colour only.
    """

    asset_id: str
    kind: str
    subtype: str
    transform: tuple[float, float, float, float, float, float]
    mirrored: bool = False
    extend: str = ""
    opacity: float = 1.0
    depth: int = 0
    tone_transfer: float = 0.0
    light_match: float = 0.0
    shadow_opacity: float = 0.0
    shadow_offset: tuple[float, float] = (0.0, 0.0)
    shadow_blur: float = 0.0
    defocus_sigma: float = 0.0
    motion_blur: float = 0.0
    motion_angle: float = 0.0
    shade: float = 0.0
    shade_radius: float = 0.0
    skin_detail: float = 0.0
    skin_offset: tuple[float, float] = (0.0, 0.0)
    hair_colour: float = 0.0
    camera_sigma: float = 0.0
    grain: float = 0.0

    def __post_init__(self) -> None:
        # Snap every float to 1e-6 (of a pixel, for the geometry). Placement goes through trigonometry, whose
        # last bits differ between CPUs (NumPy picks SIMD kernels per CPU); snapped, the params, and so the
        # rendered pixels, are the same on any x86-64 machine.
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, float):
                object.__setattr__(self, f.name, _snap(v))
            elif isinstance(v, tuple):
                object.__setattr__(self, f.name, tuple(_snap(float(x)) for x in v))

    @property
    def matrix(self) -> np.ndarray:
        """The transform as a ``(2, 3)`` float64 array."""
        return np.asarray(self.transform, dtype=np.float64).reshape(2, 3)


@dataclass(frozen=True)
class CompositeParams:
    """All random choices of one sample.

    Attributes:
        seed: the sample's seed (``SeedSequence([recipe seed, sample index])`` entropy); it also seeds the noise.
        face_id: the face the sample is made from.
        size: output side in pixels.
        occluders: placed occluders, bottom to top.
        noise_sigma: sensor noise standard deviation in 8-bit levels (0 = none).
        jpeg_quality: JPEG quality of the final image, 0 = no JPEG round trip.
        light: the face photo's first-order spherical-harmonics light ``(c0, cx, cy, cz)`` in linear luminance
            (x right, y down, z to the camera), fitted in ``sample_params`` (:func:`celebamat.synth.lighting.
            fit_face_light`); the occluders' ``shade`` applies it. Snapped like the occluder params.
    """

    seed: int
    face_id: str
    size: int
    occluders: tuple[OccluderParams, ...] = ()
    noise_sigma: float = 0.0
    jpeg_quality: int = 0
    light: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "light", tuple(_snap(float(x)) for x in self.light))

    def to_json(self) -> str:
        """Compact, key-sorted JSON (byte-stable for equal params)."""
        # The dict dataclasses.asdict would give (tuples become JSON lists either way), without its recursive deep
        # copy, which cost more than the encoding: once per row.
        d = _shallow_dict(self)
        d["occluders"] = [_shallow_dict(o) for o in self.occluders]
        return json.dumps(d, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> CompositeParams:
        d: dict[str, Any] = json.loads(text)
        occ = tuple(
            OccluderParams(
                **{
                    **o,
                    "transform": tuple(o["transform"]),
                    "shadow_offset": tuple(o["shadow_offset"]),
                    **({"skin_offset": tuple(o["skin_offset"])} if "skin_offset" in o else {}),
                }
            )
            for o in d.pop("occluders")
        )
        if "light" in d:
            d["light"] = tuple(d["light"])
        return cls(**d, occluders=occ)
