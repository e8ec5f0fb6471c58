"""Occluder asset format: metadata validation, loading a library, writing assets.

An asset is an RGBA PNG (straight alpha, 8 bit) plus a JSON file of the same stem beside it. The metadata
keys and their meaning are documented in ``assets/occluders/README.md``; :func:`validate_metadata` is the
single source of truth for what is accepted.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from celebamat.errors import AssetError
from celebamat.landmarks import ANCHOR_NAMES, EXIT_DIRECTIONS

#: Asset kinds.
KINDS = ("hand", "hair", "accessory", "translucent", "texture")
#: Subtypes the bundled generators use, by kind (imports may add their own lowercase subtype names).
SUBTYPES: dict[str, tuple[str, ...]] = {
    "hand": ("cover_mouth", "on_cheek", "chin_rest", "over_eyes", "finger_on_lips", "peace_sign", "holding"),
    "hair": ("fringe", "lock", "strand"),
    "accessory": ("eyeglasses", "sunglasses", "face_mask", "cap", "hat", "scarf", "microphone", "phone",
                  "cup", "straw", "pen", "cigarette"),
    "translucent": ("smoke", "steam", "veil", "lace", "net", "water", "plastic", "glass"),
    "texture": ("shape",),
}
#: Face measures a ``scale.length`` may refer to.
MEASURES = ("iod", "face_width", "face_height")
#: Face zones for assets placed by zone.
ZONES = ("eyes", "mouth", "nose", "forehead", "cheek_left", "cheek_right", "chin", "face")
EDGES = ("top", "bottom", "left", "right")
SPLITS = ("train", "test")
REQUIRED_KEYS = ("id", "kind", "subtype", "file", "size", "anchors", "targets", "scale", "rotation", "mirror",
                 "zones", "layer", "split", "license", "source")
_NAME_RE = re.compile(r"^[a-z0-9_]+$")
_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_pair(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and len(v) == 2 and all(_is_num(x) for x in v)


def validate_metadata(meta: Mapping[str, Any], size: tuple[int, int] | None = None) -> list[str]:
    """Check one asset's metadata; return the list of faults (empty when valid).

    Args:
        meta: the parsed JSON object.
        size: ``(width, height)`` of the PNG in pixels, when known; anchors must lie inside
            ``[0, w] x [0, h]`` and ``meta["size"]`` must equal it.
    """
    if not isinstance(meta, Mapping):
        return [f"metadata must be a JSON object, got {type(meta).__name__}"]
    faults = [f"missing key {k!r}" for k in REQUIRED_KEYS if k not in meta]
    if faults:
        return faults
    _check_names(meta, faults)
    w, h = _check_size(meta, size, faults)
    anchors, targets = _check_anchors(meta, w, h, faults)
    _check_placement_ranges(meta, targets, faults)
    _check_exit_edge(meta, anchors, targets, w, h, faults)
    return faults


def _check_names(meta: Mapping[str, Any], faults: list[str]) -> None:
    """id, kind, subtype and file name."""
    if not isinstance(meta["id"], str) or not _ID_RE.match(meta["id"]):
        faults.append(f"id {meta['id']!r} must be a non-empty string of letters, digits, '.', '_', '-'")
    kind = meta["kind"]
    if kind not in KINDS:
        faults.append(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if not isinstance(meta["subtype"], str) or not _NAME_RE.match(meta["subtype"]):
        faults.append(f"subtype {meta['subtype']!r} must be a lowercase name like 'cover_mouth'")
    if not isinstance(meta["file"], str) or not meta["file"].lower().endswith(".png"):
        faults.append(f"file {meta['file']!r} must name a .png file")
    elif Path(meta["file"]).name != meta["file"] or "\\" in meta["file"]:
        faults.append(f"file {meta['file']!r} must be a file name beside the JSON, without folders")


def _check_size(meta: Mapping[str, Any], size: tuple[int, int] | None, faults: list[str]) -> tuple[Any, Any]:
    """``size`` against the image's; returns the ``(w, h)`` anchors must lie in (``None`` when unknown)."""
    msize = meta["size"]
    if not (isinstance(msize, (list, tuple)) and len(msize) == 2 and all(isinstance(s, int) and s > 0
                                                                         for s in msize)):
        faults.append(f"size {msize!r} must be [width, height] in pixels")
    elif size is not None and tuple(msize) != tuple(size):
        faults.append(f"size {list(msize)} does not match the image size {list(size)}")
    return size if size is not None else (msize if _is_pair(msize) else (None, None))


def _check_anchors(meta: Mapping[str, Any], w: Any, h: Any, faults: list[str]
                   ) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """anchors (inside the image) and their targets (face anchors or exit directions); returns both (empty
    when malformed)."""
    anchors = meta["anchors"]
    if not isinstance(anchors, Mapping) or not anchors:
        faults.append("anchors must be a non-empty object {name: [x, y]}")
        anchors = {}
    for name, xy in anchors.items():
        if not _is_pair(xy):
            faults.append(f"anchor {name!r} must be [x, y], got {xy!r}")
        elif w is not None and not (0 <= xy[0] <= w and 0 <= xy[1] <= h):
            faults.append(f"anchor {name!r} at {list(xy)} lies outside the image (0..{w}, 0..{h})")
    targets = meta["targets"]
    if not isinstance(targets, Mapping):
        faults.append("targets must be an object {asset anchor: face anchor or exit direction}")
        targets = {}
    for name, target in targets.items():
        if name not in anchors:
            faults.append(f"target key {name!r} is not one of the anchors {sorted(anchors)}")
        if target not in ANCHOR_NAMES and target not in EXIT_DIRECTIONS:
            faults.append(f"unknown target name {target!r} for anchor {name!r} (face anchors: see "
                          "celebamat.landmarks.ANCHOR_NAMES; off-face: " + ", ".join(EXIT_DIRECTIONS) + ")")
    return anchors, targets


def _check_placement_ranges(meta: Mapping[str, Any], targets: Mapping[str, Any], faults: list[str]) -> None:
    """scale, rotation, mirror, zones, layer, split, licence, source and tags."""
    scale = meta["scale"]
    if not isinstance(scale, Mapping) or not {"measure", "length", "range"} <= set(scale):
        faults.append("scale must be {measure, length, range}")
    else:
        if scale["measure"] not in MEASURES:
            faults.append(f"scale.measure {scale['measure']!r} is not one of {', '.join(MEASURES)}")
        if not _is_num(scale["length"]) or scale["length"] <= 0:
            faults.append(f"scale.length {scale['length']!r} must be a positive number of asset pixels")
        r = scale["range"]
        if not _is_pair(r) or not 0 < r[0] <= r[1]:
            faults.append(f"scale.range {r!r} must be [low, high] with 0 < low <= high")
    rot = meta["rotation"]
    if not _is_pair(rot) or rot[0] > rot[1]:
        faults.append(f"rotation {rot!r} must be [low, high] degrees with low <= high")
    if not isinstance(meta["mirror"], bool):
        faults.append(f"mirror {meta['mirror']!r} must be true or false")
    zones = meta["zones"]
    if not isinstance(zones, list) or any(z not in ZONES for z in zones):
        faults.append(f"zones {zones!r} must be a list drawn from {', '.join(ZONES)}")
    elif not targets and not zones:
        faults.append("an asset without targets needs at least one zone")
    if not isinstance(meta["layer"], int) or isinstance(meta["layer"], bool):
        faults.append(f"layer {meta['layer']!r} must be an integer")
    if meta["split"] not in SPLITS:
        faults.append(f"split {meta['split']!r} must be 'train' or 'test'")
    for key in ("license", "source"):
        if not isinstance(meta[key], str) or not meta[key].strip():
            faults.append(f"{key} must be a non-empty string")
    if "tags" in meta and not isinstance(meta["tags"], Mapping):
        faults.append("tags must be an object")


def _check_exit_edge(meta: Mapping[str, Any], anchors: Mapping[str, Any], targets: Mapping[str, Any], w: Any,
                     h: Any, faults: list[str]) -> None:
    """An exit anchor lies on the ``exit_edge`` border it leaves the image by."""
    edge = meta.get("exit_edge")
    if edge is not None:
        if edge not in EDGES:
            faults.append(f"exit_edge {edge!r} must be one of {', '.join(EDGES)}")
        elif w is not None:
            for name, target in targets.items():
                xy = anchors.get(name)
                if target in EXIT_DIRECTIONS and _is_pair(xy):
                    d = {"top": xy[1], "bottom": h - xy[1], "left": xy[0], "right": w - xy[0]}[edge]
                    if abs(d) > 1.0:
                        faults.append(f"exit anchor {name!r} at {list(xy)} is not on the {edge} border")

@dataclass(frozen=True)
class OccluderAsset:
    """One occluder: metadata plus a lazily loaded ``(h, w, 4)`` uint8 straight-alpha RGBA image."""

    id: str
    kind: str
    subtype: str
    path: Path
    size: tuple[int, int]
    anchors: dict[str, tuple[float, float]]
    targets: dict[str, str]
    scale: dict[str, Any]
    rotation: tuple[float, float]
    mirror: bool
    zones: tuple[str, ...]
    layer: int
    split: str
    license: str
    source: str
    tags: dict[str, Any] = field(default_factory=dict)
    exit_edge: str | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    def rgba(self) -> np.ndarray:
        """The pixels, ``(h, w, 4)`` uint8, straight (not premultiplied) alpha; cached after first use."""
        if "rgba" not in self._cache:
            self._cache["rgba"] = _read_rgba(self.path)
        return self._cache["rgba"]

    def memo(self, name: str, compute: Callable[[OccluderAsset], Any]) -> Any:
        """A value derived from this asset alone (its pixels, say), computed on first use and kept."""
        if name not in self._cache:
            self._cache[name] = compute(self)
        return self._cache[name]

    def visible_box(self, keep: str = "") -> tuple[int, int, int, int]:
        """:func:`visible_box` of this asset's alpha, computed on first use and kept."""
        return self.memo(f"visible_box:{keep}", lambda a: visible_box(a.rgba()[..., 3], keep))

    def metadata(self) -> dict[str, Any]:
        """The JSON metadata this asset was loaded from (or would be written as)."""
        meta = {
            "id": self.id, "kind": self.kind, "subtype": self.subtype, "file": self.path.name,
            "size": list(self.size), "anchors": {k: list(v) for k, v in self.anchors.items()},
            "targets": dict(self.targets), "scale": dict(self.scale), "rotation": list(self.rotation),
            "mirror": self.mirror, "zones": list(self.zones), "layer": self.layer, "split": self.split,
            "license": self.license, "source": self.source, "tags": dict(self.tags),
        }
        if self.exit_edge is not None:
            meta["exit_edge"] = self.exit_edge
        return meta

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any], path: Path) -> OccluderAsset:
        return cls(
            id=meta["id"], kind=meta["kind"], subtype=meta["subtype"], path=Path(path),
            size=(int(meta["size"][0]), int(meta["size"][1])),
            anchors={k: (float(v[0]), float(v[1])) for k, v in meta["anchors"].items()},
            targets=dict(meta["targets"]), scale=dict(meta["scale"]),
            rotation=(float(meta["rotation"][0]), float(meta["rotation"][1])), mirror=bool(meta["mirror"]),
            zones=tuple(meta["zones"]), layer=int(meta["layer"]), split=meta["split"],
            license=meta["license"], source=meta["source"], tags=dict(meta.get("tags", {})),
            exit_edge=meta.get("exit_edge"),
        )


def visible_box(alpha: np.ndarray, keep: str = "") -> tuple[int, int, int, int]:
    """The box ``(x0, y0, x1, y1)`` of an asset's ``(h, w)`` alpha holding every pixel above 0 (the whole asset
    when none is), reaching the asset's edge ``keep`` (``"top"``, ``"bottom"``, ``"left"``, ``"right"`` or
    ``""``): an extended limb goes on from that edge as drawn. Assets carry a transparent margin; rendering
    starts from this box (:mod:`celebamat.synth.render`), so the margin costs no work."""
    h, w = alpha.shape
    rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    if not rows.size:
        return 0, 0, w, h
    x0, y0, x1, y1 = int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1
    if keep == "top":
        y0 = 0
    elif keep == "bottom":
        y1 = h
    elif keep == "left":
        x0 = 0
    elif keep == "right":
        x1 = w
    return x0, y0, x1, y1


def _read_rgba(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        if im.mode not in ("RGBA", "LA", "PA") and "transparency" not in im.info:
            raise AssetError(f"{path}: no alpha channel (mode {im.mode}); save it as an RGBA PNG")
        return _rgba_pixels(im)


def _rgba_pixels(im: Image.Image) -> np.ndarray:
    """An open image's pixels as a writable ``(h, w, 4)`` uint8 RGBA array."""
    return np.asarray(im.convert("RGBA")).copy()


@dataclass
class OccluderLibrary:
    """A set of assets. ``skipped`` lists ``(path, fault)`` for files that could not be loaded."""

    assets: list[OccluderAsset]
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_id = {a.id: a for a in self.assets}
        self._by_kind: dict[tuple[str, str | None], tuple[OccluderAsset, ...]] = {}

    def __len__(self) -> int:
        return len(self.assets)

    def __iter__(self):
        return iter(self.assets)

    def by_kind(self, kind: str, split: str | None = None) -> list[OccluderAsset]:
        """Assets of one kind (and split, when given), in library order."""
        if kind not in KINDS:
            raise AssetError(f"unknown occluder kind {kind!r}; expected one of {', '.join(KINDS)}")
        # Sampling asks for every sample; a library does not change once loaded.
        key = (kind, split)
        if key not in self._by_kind:
            self._by_kind[key] = tuple(a for a in self.assets if a.kind == kind and (split is None or a.split == split))
        return list(self._by_kind[key])

    def get(self, asset_id: str) -> OccluderAsset:
        try:
            return self._by_id[asset_id]
        except KeyError:
            raise AssetError(f"no occluder asset with id {asset_id!r} in this library") from None

    def counts(self) -> dict[str, dict[str, int]]:
        """``{kind: {"train": n, "test": m}}``."""
        out: dict[str, dict[str, int]] = {}
        for a in self.assets:
            out.setdefault(a.kind, {"train": 0, "test": 0})[a.split] += 1
        return out


def bundled_library_dir() -> Path:
    """Folder of the bundled library.

    Looked up, in order: ``$CELEBAMAT_OCCLUDERS`` is *not* consulted here (callers pass paths explicitly);
    ``celebamat/occluders/bundled`` (a symlink to ``assets/occluders`` in the repository, shipped as package
    data by a wheel), then ``<repo root>/assets/occluders`` for editable installs.
    """
    here = Path(__file__).resolve().parent
    for cand in (here / "bundled", here.parents[1] / "assets" / "occluders"):
        if cand.is_dir() and any(cand.glob("*.json")):
            return cand
    raise AssetError(
        "the bundled occluder library was not found (looked in celebamat/occluders/bundled and "
        f"{here.parents[1] / 'assets' / 'occluders'}); regenerate it with "
        "`celebamat occluders generate --out assets/occluders` or pass library folders explicitly")


def load_asset(json_path: str | Path, check_pixels: bool = True) -> OccluderAsset:
    """Load and validate one asset from its JSON path; raise :class:`AssetError` naming the fault. With
    ``check_pixels`` its image is decoded (an empty alpha is a fault) and kept for :meth:`OccluderAsset.rgba`."""
    json_path = Path(json_path)
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AssetError(f"{json_path}: broken JSON ({exc})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("file"), str):
        raise AssetError(f"{json_path}: metadata has no 'file' naming the PNG")
    png = json_path.parent / meta["file"]
    if Path(meta["file"]).name != meta["file"] or "\\" in meta["file"] or meta["file"] in ("", ".", ".."):
        raise AssetError(f"{json_path}: file {meta['file']!r} lies outside the library folder; it must name a "
                         "PNG beside the JSON")
    if not png.is_file():
        raise AssetError(f"{json_path}: image file {png.name!r} not found beside it")
    try:
        with Image.open(png) as im:
            size = im.size
            has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
            alpha_max = rgba = None
            if check_pixels and has_alpha:
                # decoded as rgba() decodes them, and kept: a build worker would otherwise decode every asset twice
                rgba = _rgba_pixels(im)
                alpha_max = int(rgba[..., 3].max())
    except (OSError, ValueError, MemoryError, Image.DecompressionBombError) as exc:
        raise AssetError(f"{png}: unreadable image ({exc})") from None
    if not has_alpha:
        raise AssetError(f"{png}: no alpha channel; occluders need RGBA PNGs")
    if alpha_max == 0:
        raise AssetError(f"{png}: empty alpha (every pixel transparent)")
    faults = validate_metadata(meta, size)
    if faults:
        raise AssetError(f"{json_path}: " + "; ".join(faults))
    asset = OccluderAsset.from_metadata(meta, png)
    if rgba is not None:
        asset._cache["rgba"] = rgba
    return asset


#: Pixels a checked library keeps from its check (the bundled library's 295 assets are about 70 MB); past this,
#: as with a large imported set, an asset is decoded again when first used, so memory grows only with what is used.
KEEP_PIXELS_BYTES = 256 << 20


def load_library(paths: Sequence[str | Path] | str | Path | None = None, strict: bool = False,
                 check_pixels: bool = True) -> OccluderLibrary:
    """Load every asset (``*.json`` + PNG) under the given folders (recursively).

    Args:
        paths: folders (or single JSON files); ``None`` loads the bundled library.
        strict: raise :class:`AssetError` listing every fault instead of skipping bad assets.
        check_pixels: decode each image to reject empty-alpha assets, keeping the pixels for
            :meth:`OccluderAsset.rgba` up to :data:`KEEP_PIXELS_BYTES` in all.

    Returns:
        An :class:`OccluderLibrary`, assets sorted by id; faulty files are listed in ``.skipped``.
    """
    if paths is None:
        paths = [bundled_library_dir()]
    elif isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files.extend(sorted(p.rglob("*.json")))
        elif p.is_file():
            files.append(p)
        else:
            raise AssetError(f"occluder library path {p} does not exist")
    assets: dict[str, OccluderAsset] = {}
    skipped: list[tuple[str, str]] = []
    kept = 0
    for f in files:
        try:
            a = load_asset(f, check_pixels=check_pixels)
        except AssetError as exc:
            skipped.append((str(f), str(exc)))
            continue
        if a.id in assets:
            skipped.append((str(f), f"{f}: duplicate asset id {a.id!r} (also {assets[a.id].path})"))
            continue
        pixels = a._cache.get("rgba")
        if pixels is not None:
            kept += pixels.nbytes
            if kept > KEEP_PIXELS_BYTES:  # a large imported library: the rest are decoded when first used
                del a._cache["rgba"]
        assets[a.id] = a
    if strict and skipped:
        raise AssetError("invalid occluder assets:\n" + "\n".join(f"  {fault}" for _, fault in skipped))
    return OccluderLibrary(sorted(assets.values(), key=lambda a: a.id), skipped)


def _round(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 2)
    if isinstance(v, dict):
        return {k: _round(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_round(x) for x in v]
    return v


def write_asset(out_dir: str | Path, meta: Mapping[str, Any], rgba: np.ndarray) -> OccluderAsset:
    """Write ``<id>.png`` (compression level 9) and ``<id>.json``; validate first; return the asset.

    ``rgba`` is ``(h, w, 4)`` uint8 straight alpha. ``meta`` needs every key but ``file`` and ``size``.
    Output bytes depend only on the inputs (no timestamps), so generation is reproducible.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise AssetError(f"asset {meta.get('id')!r}: pixels must be (h, w, 4), got {rgba.shape}")
    h, w = rgba.shape[:2]
    meta = dict(_round(dict(meta)))
    meta["file"] = f"{meta['id']}.png"
    meta["size"] = [w, h]
    faults = validate_metadata(meta, (w, h))
    if faults:
        raise AssetError(f"asset {meta['id']!r}: " + "; ".join(faults))
    # Colour under zero alpha carries no information; zero it so files compress and compare cleanly.
    rgba = rgba.copy()
    rgba[rgba[..., 3] == 0] = 0
    png = out_dir / meta["file"]
    Image.fromarray(rgba, "RGBA").save(png, format="PNG", compress_level=9)
    ordered = {k: meta[k] for k in (*REQUIRED_KEYS, "tags", "exit_edge") if k in meta}
    ordered.update({k: v for k, v in meta.items() if k not in ordered})
    (out_dir / f"{meta['id']}.json").write_text(json.dumps(ordered, indent=1) + "\n", encoding="utf-8")
    return OccluderAsset.from_metadata(ordered, png)


def iter_kinds(assets: Iterable[OccluderAsset]) -> dict[str, list[OccluderAsset]]:
    out: dict[str, list[OccluderAsset]] = {}
    for a in assets:
        out.setdefault(a.kind, []).append(a)
    return out
