"""Build recipes: declarative TOML files that are the full record of how a dataset was made.

A recipe has the tables ``[faces]``, ``[splits]``, ``[occluders]``, ``[realism]`` and ``[output]`` plus
``name``, ``description`` and ``seed``; every key is optional except ``faces.source``. See
``recipes/README.md`` for each key. :func:`load_recipe` refuses a malformed recipe naming the key, the value
and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from celebamat.dataset.schema import SPLITS
from celebamat.errors import RecipeError
from celebamat.synth.config import RealismConfig, SynthConfig, synth_config_from_dict

ASSIGN_MODES = ("identity", "face", "sample")
IMAGE_FORMATS = ("jpeg", "png")


@dataclass(frozen=True)
class FacesConfig:
    """Where the clean faces come from: a source spec (``demo``, ``folder:DIR``, ``celebamask-hq:ROOT``)."""

    source: str = "demo"
    size: int = 512
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SplitsConfig:
    """Samples per split (``None`` = one sample per remaining face, times ``samples_per_face``).

    ``assign``: ``identity`` keeps every identity in one split (identity-disjoint), ``face`` keeps every face
    in one split, ``sample`` lets every split draw from all faces (for tiny face sets such as ``demo``).
    """

    counts: dict[str, int | None] = field(default_factory=lambda: {"train": 800, "validation": 100, "test": 100})
    assign: str = "sample"
    samples_per_face: int = 1
    #: ``--samples N`` on a recipe with a "rest" split: the plan resolves "rest" from the usable faces, then
    #: rescales every split to ``N`` samples in total, keeping the proportions.
    total: int | None = None


@dataclass(frozen=True)
class OutputConfig:
    image_format: str = "jpeg"
    jpeg_quality: int = 95
    store_clean: bool = True
    rows_per_shard: int = 100
    preview_samples: int = 12


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str = ""
    seed: int = 0
    faces: FacesConfig = FacesConfig()
    splits: SplitsConfig = SplitsConfig()
    synth: SynthConfig = SynthConfig()
    output: OutputConfig = OutputConfig()
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The resolved recipe as plain data (what the manifest records)."""
        d = asdict(self)
        d.pop("path")
        d["occluders"] = d["synth"]["occluders"]
        d["realism"] = d["synth"]["realism"]
        d.pop("synth")
        if self.synth.realism.hair_recolor == RealismConfig().hair_recolor:
            d["realism"].pop("hair_recolor")  # recipes from before the option keep their fingerprint
        return d

    def fingerprint(self) -> str:
        """sha256 of the resolved recipe: two builds may share a folder only when this matches."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), default=list)
        return hashlib.sha256(text.encode()).hexdigest()

    def with_overrides(
        self, *, faces: str | None = None, samples: int | None = None, seed: int | None = None
    ) -> Recipe:
        """The recipe with command-line overrides applied (``--faces``, ``--samples``, ``--seed``)."""
        r = self
        if faces is not None:
            # Source options belong to the recipe's source kind; another kind starts without them.
            same_kind = faces.split(":", 1)[0] == r.faces.source.split(":", 1)[0]
            r = replace(r, faces=replace(r.faces, source=faces, options=r.faces.options if same_kind else {}))
        if seed is not None:
            if not 0 <= int(seed) < 2**63:
                raise RecipeError(f"--seed must be an integer from 0 to 2**63 - 1, got {seed}")
            r = replace(r, seed=int(seed))
        if samples is not None:
            if int(samples) < 1:
                raise RecipeError(f"--samples must be at least 1, got {samples}")
            if any(v is None for v in r.splits.counts.values()):
                r = replace(r, splits=replace(r.splits, total=int(samples)))
            else:
                r = replace(r, splits=replace(r.splits, counts=scale_counts(r.splits.counts, int(samples))))
        return r


def scale_counts(counts: dict[str, int | None], total: int) -> dict[str, int]:
    """Split sample counts rescaled to ``total`` samples, keeping their proportions (each used split >= 1).

    ``None`` ("the rest") entries must have been resolved to numbers first.
    """
    if total < 1:
        raise RecipeError(f"--samples must be at least 1, got {total}")
    fixed = {k: int(v) for k, v in counts.items() if v}
    out = {k: 0 for k in counts}
    out.update(_proportional(fixed, total))
    return out


def _proportional(counts: dict[str, int], total: int) -> dict[str, int]:
    base = sum(counts.values()) or 1
    keys = list(counts)
    out = {k: max(1, int(total * counts[k] / base)) for k in keys}
    # Hand the rounding remainder to the largest split so the total is exact.
    big = max(keys, key=lambda k: counts[k])
    out[big] = max(1, out[big] + total - sum(out.values()))
    return out


def _err(key: str, value: Any, allowed: str) -> RecipeError:
    return RecipeError(f"recipe key {key!r} has value {value!r}; allowed: {allowed}")


def _int(key: str, v: Any, lo: int, hi: int | None = None) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < lo or (hi is not None and v > hi):
        raise _err(key, v, f"an integer >= {lo}" + (f" and <= {hi}" if hi is not None else ""))
    return v


def _only(table: dict[str, Any], prefix: str, allowed: set[str]) -> None:
    for k, v in table.items():
        if k not in allowed:
            raise _err(f"{prefix}{k}", v, "keys " + ", ".join(sorted(allowed)))


def recipe_from_dict(data: dict[str, Any], *, default_name: str = "recipe", path: str = "") -> Recipe:
    """Validate a parsed recipe (the TOML document as a dict) into a :class:`Recipe`."""
    _only(data, "", {"name", "description", "seed", "faces", "splits", "occluders", "realism", "output"})
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise _err("name", name, "a non-empty string")
    desc = data.get("description", "")
    if not isinstance(desc, str):
        raise _err("description", desc, "a string")
    seed = _int("seed", data.get("seed", 0), 0, 2**63 - 1)

    faces_t = data.get("faces", {})
    if not isinstance(faces_t, dict):
        raise _err("faces", faces_t, "a table")
    _only(faces_t, "faces.", {"source", "size", "options"})
    source = faces_t.get("source", "demo")
    if not isinstance(source, str) or not source:
        raise _err("faces.source", source, "demo, folder:DIR or celebamask-hq:ROOT")
    kind = source.split(":", 1)[0]
    if kind not in ("demo", "folder", "celebamask-hq"):
        raise _err("faces.source", source, "demo, folder:DIR or celebamask-hq:ROOT")
    size = _int("faces.size", faces_t.get("size", 512), 64, 2048)
    if size % 32:
        raise _err("faces.size", size, "a multiple of 32")
    options = faces_t.get("options", {})
    if not isinstance(options, dict):
        raise _err("faces.options", options, "a table of source options")
    faces = FacesConfig(source=source, size=size, options=dict(options))

    splits_t = data.get("splits", {})
    if not isinstance(splits_t, dict):
        raise _err("splits", splits_t, "a table")
    _only(splits_t, "splits.", set(SPLITS) | {"assign", "samples_per_face"})
    counts: dict[str, int | None] = {}
    for s in SPLITS:
        v = splits_t.get(s, SplitsConfig().counts[s])
        if v == "rest":
            counts[s] = None
        else:
            counts[s] = _int(f"splits.{s}", v, 0) if not isinstance(v, str) else None
            if isinstance(v, str):
                raise _err(f"splits.{s}", v, "a number of samples or \"rest\"")
    if sum(1 for v in counts.values() if v is None) > 1:
        raise _err("splits", splits_t, "at most one split set to \"rest\"")
    if all(v == 0 for v in counts.values()):
        raise _err("splits", splits_t, "at least one split with samples")
    assign = splits_t.get("assign", "sample")
    if assign not in ASSIGN_MODES:
        raise _err("splits.assign", assign, ", ".join(ASSIGN_MODES))
    spf = _int("splits.samples_per_face", splits_t.get("samples_per_face", 1), 1)
    splits = SplitsConfig(counts=counts, assign=assign, samples_per_face=spf)

    occ_t = data.get("occluders", {})
    real_t = data.get("realism", {})
    if not isinstance(occ_t, dict):
        raise _err("occluders", occ_t, "a table")
    if not isinstance(real_t, dict):
        raise _err("realism", real_t, "a table")
    synth = synth_config_from_dict(occ_t, real_t)

    out_t = data.get("output", {})
    if not isinstance(out_t, dict):
        raise _err("output", out_t, "a table")
    _only(out_t, "output.", {"image_format", "jpeg_quality", "store_clean", "rows_per_shard", "preview_samples"})
    fmt = out_t.get("image_format", "jpeg")
    if fmt not in IMAGE_FORMATS:
        raise _err("output.image_format", fmt, ", ".join(IMAGE_FORMATS))
    store_clean = out_t.get("store_clean", True)
    if not isinstance(store_clean, bool):
        raise _err("output.store_clean", store_clean, "true or false")
    output = OutputConfig(
        image_format=fmt,
        jpeg_quality=_int("output.jpeg_quality", out_t.get("jpeg_quality", 95), 50, 100),
        store_clean=store_clean,
        rows_per_shard=_int("output.rows_per_shard", out_t.get("rows_per_shard", 100), 1, 100_000),
        preview_samples=_int("output.preview_samples", out_t.get("preview_samples", 12), 0, 64),
    )
    return Recipe(name=name, description=desc, seed=seed, faces=faces, splits=splits, synth=synth,
                  output=output, path=path)


def recipes_dir() -> Path:
    """The folder of bundled recipes (``recipes/`` of the repository, or ``share/celebamat/recipes``)."""
    here = Path(__file__).resolve().parents[2] / "recipes"
    if here.is_dir():
        return here
    return Path(sys.prefix) / "share" / "celebamat" / "recipes"


def available_recipes() -> list[str]:
    d = recipes_dir()
    return sorted(p.stem for p in d.glob("*.toml") if not p.stem.startswith("facemat")) if d.is_dir() else []


def load_recipe(name_or_path: str | Path = "demo") -> Recipe:
    """Load a recipe by bundled name (``demo``, ``celebamat-512``, ...) or by path to a TOML file."""
    p = Path(name_or_path)
    if not p.suffix and not p.exists():
        p = recipes_dir() / f"{name_or_path}.toml"
        if not p.exists():
            raise RecipeError(
                f"no recipe named {str(name_or_path)!r}; bundled recipes: {', '.join(available_recipes())} "
                "(or pass a path to a .toml file)"
            )
    if not p.is_file():
        raise RecipeError(f"recipe file {str(p)!r} does not exist")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"recipe {str(p)!r} is not valid TOML: {exc}") from None
    try:
        return recipe_from_dict(data, default_name=p.stem, path=str(p))
    except RecipeError as exc:
        raise RecipeError(f"{p}: {exc}") from None
