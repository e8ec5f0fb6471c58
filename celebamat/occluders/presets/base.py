"""What every dataset preset shares: the items a reader yields, matting them, writing assets, the report."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from celebamat.errors import AssetError
from celebamat.occluders.asset import OccluderAsset, write_asset
from celebamat.occluders.hand_pose import hand_metadata, upright_hand
from celebamat.occluders.matting import MAX_SIDE, refine_alpha
from celebamat.utils.hashing import stable_split

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".pbm", ".pgm", ".tif", ".tiff", ".webp")


@dataclass
class Item:
    """One occluder a reader found.

    Attributes:
        name: unique stem within the preset (letters, digits, ``._-``), part of the asset id.
        load: returns ``(rgb (h, w, 3) uint8, alpha (h, w) uint8 0..255)``; called only when the item is used.
        kind, subtype: the occluder kind and subtype of its class.
        group: what the split follows (a subject, a video, a file); items of one group share a split.
        split: ``"train"``/``"test"`` where the dataset's authors say, else ``None`` (then by group hash).
        tags: class and provenance details kept in the asset's metadata.
        exact: the alpha is exact (a generated shape): no matting.
    """

    name: str
    load: Callable[[], tuple[np.ndarray, np.ndarray]]
    kind: str
    subtype: str
    group: str
    split: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    exact: bool = False


@dataclass(frozen=True)
class Skip:
    """A file or entry a reader could not use, and why."""

    name: str
    reason: str


@dataclass
class ImportReport:
    """Assets written and entries skipped (with the reason), and the time spent."""

    assets: list[OccluderAsset] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def counts(self) -> dict[str, dict[str, int]]:
        """``{"kind/subtype": {"train": n, "test": m}}``."""
        out: dict[str, dict[str, int]] = {}
        for a in self.assets:
            out.setdefault(f"{a.kind}/{a.subtype}", {"train": 0, "test": 0})[a.split] += 1
        return out


@dataclass(frozen=True)
class Preset:
    """A third-party occluder dataset: how to read it as distributed, and what it may be used for."""

    name: str
    title: str
    license: str
    url: str
    layout: str
    read: Callable[[Path], Iterator[Item | Skip]]


def group_split(group: str, test_fraction: float) -> str:
    """Stable split of a group by hash: ``"test"`` for about ``test_fraction`` of groups."""
    return stable_split(group, test_fraction)


def safe_name(text: str) -> str:
    """``text`` as part of an asset id: accents folded to ASCII, every character outside letters, digits and
    ``._-`` replaced by ``_``, long names cut (:func:`celebamat.occluders.importers.asset_stem`)."""
    from celebamat.occluders.importers import asset_stem

    return asset_stem(text)


def _read(path: Path, mode: str, what: str) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert(mode)).copy()
    except OSError as exc:
        raise AssetError(f"{path}: unreadable {what} ({exc})") from None


def read_rgb(path: Path) -> np.ndarray:
    """``(h, w, 3)`` uint8 RGB of an image file; :class:`AssetError` naming it when unreadable."""
    return _read(path, "RGB", "image")


def read_gray(path: Path) -> np.ndarray:
    """``(h, w)`` uint8 of a mask or alpha file (``1``-bit PBM masks become 0/255)."""
    return _read(path, "L", "mask")


def pair_loader(image: Path, alpha: Path) -> Callable[[], tuple[np.ndarray, np.ndarray]]:
    """A loader of an image file and its alpha/mask file, checking they have one size."""
    def load() -> tuple[np.ndarray, np.ndarray]:
        rgb, a = read_rgb(image), read_gray(alpha)
        if a.shape != rgb.shape[:2]:
            raise AssetError(f"{alpha}: mask size {a.shape[::-1]} differs from the image {rgb.shape[1::-1]}")
        return rgb, a
    return load


def images_in(folder: Path) -> list[Path]:
    """Image files of a folder, sorted by name (empty when the folder is absent)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)


def _crop_to_alpha(rgb: np.ndarray, alpha: np.ndarray, margin: float = 0.06) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(alpha > 0)
    if ys.size == 0:
        raise AssetError("empty mask (no pixel of the object)")
    h, w = alpha.shape
    m = int(round(margin * max(np.ptp(ys) + 1, np.ptp(xs) + 1))) + 2
    y0, y1 = max(0, ys.min() - m), min(h, ys.max() + 1 + m)
    x0, x1 = max(0, xs.min() - m), min(w, xs.max() + 1 + m)
    return rgb[y0:y1, x0:x1], alpha[y0:y1, x0:x1]


def make_rgba(item: Item, max_side: int) -> np.ndarray:
    """The item's pixels as straight RGBA: cropped to the object, binary masks matted, colours estimated."""
    rgb, alpha = item.load()
    rgb, alpha = _crop_to_alpha(rgb, alpha)
    if item.exact:
        return np.dstack([rgb, alpha])
    return refine_alpha(rgb, alpha, max_side=max_side).rgba


def fade_cut_borders(rgba: np.ndarray, share: float = 0.08, min_cover: float = 0.02) -> np.ndarray:
    """Fade the alpha out towards every border the object is cut by (hair running out of its photo), over
    ``share`` of the image's longest side, so the cut does not show as a straight edge. ``rgba`` is
    ``(h, w, 4)`` uint8; a border counts as cut where more than ``min_cover`` of it is covered."""
    from celebamat.occluders.harvest import fade_window

    a = rgba[..., 3]
    h, w = a.shape
    sides = [e for e, line in (("top", a[0]), ("bottom", a[-1]), ("left", a[:, 0]), ("right", a[:, -1]))
             if float((line > 128).mean()) > min_cover]
    if not sides:
        return rgba
    wgt = fade_window((0, 0, w, h), share * max(h, w), sides)(0, 0, w, h)
    out = rgba.copy()
    out[..., 3] = np.clip(np.rint(a * wgt), 0, 255).astype(np.uint8)
    return out


def hair_metadata(rgba: np.ndarray) -> dict[str, Any]:
    """Placement of a whole head of hair (a hair-segmentation photo): its crown goes to the target's hairline,
    scaled by face width, so the hair falls from the top of the head over the face instead of floating on it.

    Args:
        rgba: ``(h, w, 4)`` uint8 cut-out, cropped to the hair.
    """
    a = rgba[..., 3]
    ys, xs = np.nonzero(a > 64)
    if ys.size == 0:
        raise AssetError("empty hair matte")
    top = ys.min()
    crown = [float(xs[ys <= top + 2].mean()), float(top)]
    width = float(xs.max() - xs.min() + 1)
    return {"anchors": {"crown": crown, "center": [float(xs.mean()), float(ys.mean())]},
            "targets": {"crown": "hairline"},
            # A head of hair is about 1.2-1.6 face widths wide.
            "scale": {"measure": "face_width", "length": width, "range": [1.1, 1.6]},
            "rotation": [-12.0, 12.0], "mirror": True, "zones": []}


def write_item(preset: Preset, item: Item, rgba: np.ndarray, out_dir: Path, split: str, max_side: int,
               asset_id: str | None = None) -> OccluderAsset:
    """Write one item as an asset: hands placed from their mediapipe landmarks, the rest from their shape.
    ``asset_id`` defaults to ``<preset>-<item name>``."""
    from celebamat.occluders.importers import _hand_landmarks, _write_imported

    source = (f"{preset.title} ({preset.url}), {item.tags.get('file', item.name)}; "
              f"imported by celebamat preset {preset.name}")
    tags = {"preset": preset.name, **item.tags}
    asset_id = asset_id or f"{preset.name}-{safe_name(item.name)}"
    if item.kind == "hair":
        rgba = fade_cut_borders(rgba)
        meta = hair_metadata(rgba)
        meta.update({"id": asset_id, "kind": "hair", "subtype": item.subtype, "layer": 10, "split": split,
                     "license": preset.license, "source": source, "tags": {**tags, "imported": True}})
        return write_asset(out_dir, meta, rgba)
    if item.kind != "hand":
        return _write_imported(rgba, item.name, item.kind, item.subtype, out_dir, source=source,
                               license=preset.license, split=split, test_fraction=0.0, max_size=max_side,
                               use_mediapipe=False, tags=tags, asset_id=asset_id)
    lm = _hand_landmarks(rgba)
    if lm is None:
        raise AssetError("mediapipe found no hand in the cut-out (cannot orient it: fingers towards the face)")
    up, lm2 = upright_hand(rgba, lm)
    meta, subtype = hand_metadata(up, lm2, item.name)
    meta.update({"id": asset_id, "kind": "hand", "subtype": subtype, "layer": 40, "split": split,
                 "license": preset.license, "source": source})
    meta["tags"] = {**tags, "imported": True, **meta["tags"]}
    return write_asset(out_dir, meta, up)


def import_item(preset: Preset, item: Item, out_dir: Path, split: str, max_side: int,
                asset_id: str | None = None) -> OccluderAsset | tuple[str, str]:
    """Matte and write one item (a worker's task); the asset, or ``(file, reason)`` when it is unusable."""
    try:
        return write_item(preset, item, make_rgba(item, max_side), out_dir, split, max_side, asset_id)
    except (AssetError, OSError, ValueError, MemoryError, Image.DecompressionBombError) as exc:
        return (str(item.tags.get("file", item.name)), str(exc))


def run_preset(preset: Preset, src: str | Path, out_dir: str | Path, *, limit: int | None = None,
               test_fraction: float = 0.2, max_side: int = MAX_SIDE, workers: int = 1,
               progress: bool = True, overwrite: bool = False) -> ImportReport:
    """Import a dataset with its preset reader; every unusable entry is reported with its reason.

    Args:
        src: the dataset's folder as its authors distribute it (see ``preset.layout``).
        out_dir: library folder to write.
        limit: stop after this many assets.
        test_fraction: share of groups sent to the test split where the dataset names no split.
        max_side: longest side of the matted assets, pixels.
        workers: processes (joblib); items are reported in the reader's order whatever the count.
        overwrite: replace assets already in ``out_dir``; without it they are kept and their items skipped
            (ids are unique within the import: :class:`celebamat.occluders.importers.AssetIds`).
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    from celebamat.occluders.importers import AssetIds

    src, out_dir = Path(src), Path(out_dir)
    if not src.is_dir():
        raise AssetError(f"{preset.name}: {src} is not a folder; expected {preset.layout}")
    if workers < 1:
        raise AssetError(f"workers must be at least 1, got {workers}")
    report = ImportReport()
    t0 = time.perf_counter()
    found = 0
    run = Parallel(n_jobs=workers, return_as="generator") if workers > 1 else None
    bar = tqdm(desc=preset.name, unit="item", disable=not progress)

    ids = AssetIds(out_dir, overwrite)

    def flush(batch: list[tuple[Item, str]]) -> None:
        tasks = [delayed(import_item)(preset, it, out_dir, it.split or group_split(it.group, test_fraction), max_side,
                                      asset_id) for it, asset_id in batch]
        for res in (run(tasks) if run is not None else (f(*a, **kw) for f, a, kw in tasks)):
            bar.update()
            (report.skipped.append(res) if isinstance(res, tuple) else report.assets.append(res))
        batch.clear()

    batch: list[tuple[Item, str]] = []
    for entry in preset.read(src):
        if isinstance(entry, Skip):
            report.skipped.append((entry.name, entry.reason))
            continue
        found += 1
        try:
            asset_id = ids.claim(f"{preset.name}-{safe_name(entry.name)}", str(entry.tags.get("file", entry.name)))
        except AssetError as exc:
            report.skipped.append((str(entry.tags.get("file", entry.name)), str(exc)))
            continue
        room = None if limit is None else limit - len(report.assets) - len(batch)
        if room is not None and room <= 0:
            flush(batch)  # items may fail: the limit counts assets written
            if len(report.assets) >= limit:
                break
        batch.append((entry, asset_id))
        if len(batch) >= 4 * workers:
            flush(batch)
    flush(batch)
    bar.close()
    report.seconds = time.perf_counter() - t0
    if not found:
        raise AssetError(f"{preset.name}: nothing found under {src}; expected {preset.layout}")
    out_dir.mkdir(parents=True, exist_ok=True)
    from celebamat.occluders.harvest import write_skipped

    write_skipped(out_dir / f"{preset.name}-skipped.tsv", report.skipped)
    return report
