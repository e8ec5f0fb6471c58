"""Settings of the compositing step (the ``[occluders]`` and ``[realism]`` tables of a build recipe).

Every random choice of a composite is governed by one of these settings; :func:`synth_config_from_dict`
validates a recipe's tables and names the key, the value and what is allowed when something is wrong.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from celebamat.errors import RecipeError

KINDS = ("hand", "hair", "accessory", "translucent", "texture")

#: Subtypes that cast a soft shadow on the face: objects held close to the skin.
NEAR_SUBTYPES = frozenset(
    {"cover_mouth", "on_cheek", "chin_rest", "over_eyes", "finger_on_lips", "peace_sign", "holding",
     "microphone", "phone", "cup", "straw", "pen", "cigarette"}
)

#: At most one occluder of each group per sample (two pairs of glasses never meet on one face).
DEFAULT_EXCLUSIVE = (
    ("eyeglasses", "sunglasses"),
    ("face_mask",),
    ("cap", "hat"),
    ("scarf",),
)


@dataclass(frozen=True)
class Chance:
    """An effect applied with ``probability``; its strength drawn uniformly from ``range``."""

    probability: float
    range: tuple[float, float]


@dataclass(frozen=True)
class RealismConfig:
    tone_transfer: Chance = Chance(0.95, (0.8, 1.0))  # hands towards the face's skin colour
    light_match: Chance = Chance(1.0, (0.5, 1.0))  # occluder brightness / white balance towards the scene
    shadow: Chance = Chance(0.7, (0.12, 0.35))  # cast-shadow opacity of near occluders
    shadow_offset: tuple[float, float] = (0.04, 0.14)  # shadow shift, in inter-ocular distances
    shadow_blur: tuple[float, float] = (0.06, 0.16)  # shadow softness (Gaussian sigma), in iod
    defocus: Chance = Chance(0.25, (0.6, 2.2))  # Gaussian sigma in pixels at 512 px
    motion_blur: Chance = Chance(0.08, (3.0, 11.0))  # kernel length in pixels at 512 px
    noise: Chance = Chance(0.5, (0.5, 3.0))  # sensor noise sigma, 8-bit levels
    jpeg: Chance = Chance(0.5, (70.0, 95.0))  # JPEG quality of the final image
    #: Recolour real hair occluders (assets tagged ``recolor = "hair"``) towards the face's own hair colour;
    #: off by default (probability 0 draws nothing, so recipes without it sample exactly as before).
    hair_recolor: Chance = Chance(0.0, (0.5, 0.9))
    face_light: Chance = Chance(0.9, (0.6, 1.0))  # occluders shaded by the face's fitted light (SH, order 1)
    skin_detail: Chance = Chance(0.9, (0.7, 1.0))  # hands textured with the face's own skin detail
    hair_colour: Chance = Chance(0.95, (0.85, 1.0))  # hair recoloured towards the person's own hair
    camera_match: Chance = Chance(0.9, (0.55, 0.85))  # occluder blur, as a fraction of the photo's edge blur
    grain: Chance = Chance(0.5, (0.6, 1.0))  # occluder grain, as a fraction of the photo's estimated noise


@dataclass(frozen=True)
class OccluderConfig:
    #: Probability of 0, 1, 2, ... occluders (the share of clean faces is the first entry).
    count: tuple[float, ...] = (0.1, 0.45, 0.32, 0.13)
    #: Relative frequency of each kind.
    kinds: dict[str, float] = field(
        default_factory=lambda: {"hand": 0.34, "hair": 0.2, "accessory": 0.26, "translucent": 0.1, "texture": 0.1}
    )
    #: Mirror assets that allow it with this probability.
    mirror: float = 0.5
    #: Opacity of solid occluders; translucent ones keep their own alpha, times this.
    opacity: tuple[float, float] = (0.92, 1.0)
    #: Extra translation jitter of anchored placements, in inter-ocular distances.
    jitter: float = 0.08
    #: Which splits draw from ``test`` assets (all others draw from ``train`` assets).
    test_asset_splits: tuple[str, ...] = ("test",)
    exclusive: tuple[tuple[str, ...], ...] = DEFAULT_EXCLUSIVE
    #: Extra asset folders (imported sets) on top of the bundled library.
    extra_libraries: tuple[str, ...] = ()
    #: Use the bundled library in ``assets/occluders``.
    bundled: bool = True


@dataclass(frozen=True)
class SynthConfig:
    occluders: OccluderConfig = OccluderConfig()
    realism: RealismConfig = RealismConfig()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _err(key: str, value: Any, allowed: str) -> RecipeError:
    return RecipeError(f"recipe key {key!r} has value {value!r}; allowed: {allowed}")


def _finite(v: Any) -> bool:
    """A real number (not a bool), neither infinite nor NaN."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _prob(key: str, v: Any) -> float:
    if not _finite(v) or not 0.0 <= float(v) <= 1.0:
        raise _err(key, v, "a number between 0 and 1")
    return float(v)


def _range(key: str, v: Any, lo: float = float("-inf"), hi: float = float("inf")) -> tuple[float, float]:
    ok = isinstance(v, (list, tuple)) and len(v) == 2 and all(_finite(x) for x in v)
    if not ok or not (lo <= v[0] <= v[1] <= hi):
        raise _err(key, v, f"a pair [low, high] with {lo} <= low <= high <= {hi}")
    return (float(v[0]), float(v[1]))


def _chance(key: str, v: Any, lo: float, hi: float) -> Chance:
    if not isinstance(v, dict):
        raise _err(key, v, "a table with 'probability' and 'range'")
    unknown = set(v) - {"probability", "range"}
    if unknown:
        raise _err(f"{key}.{sorted(unknown)[0]}", v[sorted(unknown)[0]], "keys 'probability' and 'range'")
    default = getattr(RealismConfig(), key.split(".")[-1])
    p = _prob(f"{key}.probability", v.get("probability", default.probability))
    r = _range(f"{key}.range", v.get("range", list(default.range)), lo, hi)
    return Chance(p, r)


_CHANCE_BOUNDS = {
    "tone_transfer": (0.0, 1.0),
    "light_match": (0.0, 1.0),
    "shadow": (0.0, 1.0),
    "defocus": (0.0, 20.0),
    "motion_blur": (1.0, 64.0),
    "noise": (0.0, 50.0),
    "jpeg": (5.0, 100.0),
    "hair_recolor": (0.0, 1.0),
    "face_light": (0.0, 1.0),
    "skin_detail": (0.0, 1.0),
    "hair_colour": (0.0, 1.0),
    "camera_match": (0.0, 1.5),
    "grain": (0.0, 2.0),
}


def synth_config_from_dict(occluders: dict[str, Any] | None, realism: dict[str, Any] | None) -> SynthConfig:
    """Validate the ``[occluders]`` and ``[realism]`` recipe tables into a :class:`SynthConfig`."""
    occ_kw: dict[str, Any] = {}
    allowed_occ = {f.name for f in fields(OccluderConfig)}
    for key, v in (occluders or {}).items():
        k = f"occluders.{key}"
        if key not in allowed_occ:
            raise _err(k, v, "one of " + ", ".join(sorted(allowed_occ)))
        if key == "count":
            if not isinstance(v, list) or not v or any(not _finite(x) or x < 0 for x in v) or sum(v) <= 0:
                raise _err(k, v, "a list of finite non-negative weights for 0, 1, 2, ... occluders, not all zero")
            total = float(sum(v))
            occ_kw[key] = tuple(float(x) / total for x in v)
        elif key == "kinds":
            if not isinstance(v, dict) or not v:
                raise _err(k, v, "a table kind = weight with kinds among " + ", ".join(KINDS))
            for kind, w in v.items():
                if kind not in KINDS:
                    raise _err(f"{k}.{kind}", w, "kinds among " + ", ".join(KINDS))
                if not _finite(w) or w < 0:
                    raise _err(f"{k}.{kind}", w, "a finite non-negative weight")
            if sum(v.values()) <= 0:
                raise _err(k, v, "at least one positive weight")
            occ_kw[key] = {kind: float(w) for kind, w in v.items()}
        elif key in ("mirror", "jitter"):
            occ_kw[key] = _prob(k, v)
        elif key == "opacity":
            occ_kw[key] = _range(k, v, 0.0, 1.0)
        elif key == "bundled":
            if not isinstance(v, bool):
                raise _err(k, v, "true or false")
            occ_kw[key] = v
        elif key in ("test_asset_splits", "extra_libraries"):
            if not isinstance(v, list) or any(not isinstance(x, str) for x in v):
                raise _err(k, v, "a list of strings")
            occ_kw[key] = tuple(v)
        elif key == "exclusive":
            if not isinstance(v, list) or any(
                not isinstance(g, list) or any(not isinstance(x, str) for x in g) for g in v
            ):
                raise _err(k, v, "a list of lists of subtype names")
            occ_kw[key] = tuple(tuple(g) for g in v)
    real_kw: dict[str, Any] = {}
    allowed_real = {f.name for f in fields(RealismConfig)}
    for key, v in (realism or {}).items():
        k = f"realism.{key}"
        if key not in allowed_real:
            raise _err(k, v, "one of " + ", ".join(sorted(allowed_real)))
        if key in _CHANCE_BOUNDS:
            real_kw[key] = _chance(k, v, *_CHANCE_BOUNDS[key])
        else:
            real_kw[key] = _range(k, v, 0.0, 2.0)
    return SynthConfig(occluders=OccluderConfig(**occ_kw), realism=RealismConfig(**real_kw))
