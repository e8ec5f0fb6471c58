"""``celebamat verify``: check a built dataset against its manifest, its card and the alpha semantics.

Faults are grouped by kind; the report keeps the first fault of each kind (with how many more there were),
so a broken dataset gives a short, actionable list.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from celebamat.dataset.schema import SPLITS
from celebamat.utils.io import sha256_file

IMAGE_COLUMNS = ("image", "clean")
MATTE_COLUMNS = ("alpha", "skin", "occluder_alpha")


@dataclass
class VerifyReport:
    ok: bool
    faults: list[str]
    checked: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        head = "OK" if self.ok else f"FAILED ({len(self.faults)} kinds of fault)"
        lines = [f"verify: {head}; checked " + ", ".join(f"{v} {k}" for k, v in self.checked.items())]
        lines += [f"  - {f}" for f in self.faults]
        return "\n".join(lines)


class _Faults:
    """First fault of each kind, plus a count of the others."""

    def __init__(self) -> None:
        self.first: OrderedDict[str, str] = OrderedDict()
        self.count: dict[str, int] = {}

    def add(self, kind: str, message: str) -> None:
        self.count[kind] = self.count.get(kind, 0) + 1
        self.first.setdefault(kind, message)

    def lines(self) -> list[str]:
        out = []
        for kind, msg in self.first.items():
            more = self.count[kind] - 1
            out.append(f"[{kind}] {msg}" + (f" (and {more} more)" if more else ""))
        return out


def _decode(cell: Any) -> Any:
    import io

    from PIL import Image

    im = Image.open(io.BytesIO(cell["bytes"]))
    im.load()
    return im


def _check_row(row: dict[str, Any], where: str, faults: _Faults) -> None:
    images = {}
    for col in IMAGE_COLUMNS + MATTE_COLUMNS:
        cell = row.get(col)
        if cell is None:
            if col != "clean":
                faults.add("missing-image", f"{where}: column {col!r} is empty")
            continue
        try:
            images[col] = _decode(cell)
        except Exception as exc:  # noqa: BLE001 - any decoder failure is a fault to report
            faults.add("undecodable-image", f"{where}: {col} does not decode ({exc})")
    for col in MATTE_COLUMNS:
        im = images.get(col)
        if im is not None and im.mode != "L":
            faults.add("matte-mode", f"{where}: {col} is mode {im.mode}, expected 8-bit L (255 = full)")
    sizes = {c: im.size for c, im in images.items()}
    if len(set(sizes.values())) > 1:
        faults.add("size-mismatch", f"{where}: images differ in size {sizes}")
        return
    if not all(c in images for c in MATTE_COLUMNS):
        return
    alpha, skin, occ = (np.asarray(images[c].convert("L")) for c in MATTE_COLUMNS)
    for kind, message in sample_faults(alpha, skin, occ, bool(row.get("occluders")), row.get("landmarks")):
        faults.add(kind, f"{where}: {message}")


def sample_faults(alpha: np.ndarray, skin: np.ndarray, occluder_alpha: np.ndarray, has_occluders: bool,
                  landmarks: Any) -> list[tuple[str, str]]:
    """The faults ``verify`` finds in one sample's decoded mattes and landmarks, as ``(kind, message)``.

    Args:
        alpha, skin, occluder_alpha: ``(H, W)`` uint8 mattes, 255 = full.
        has_occluders: whether the row lists any occluder.
        landmarks: ``(478, 2)`` normalised coordinates.

    The build runs the same function on every row before writing it, so it never writes a row that
    ``celebamat verify`` rejects.
    """
    out: list[tuple[str, str]] = []
    # Saturating 8-bit comparisons (OpenCV) rather than int16 arithmetic: this runs on every row a build writes.
    alpha, skin, occ = (np.ascontiguousarray(m, dtype=np.uint8) for m in (alpha, skin, occluder_alpha))
    above = cv2.countNonZero(cv2.subtract(alpha, skin))
    if above:
        out.append(("alpha-above-skin", f"alpha > skin at {above} pixels (alpha must be skin * visibility)"))
    if not has_occluders:
        if not np.array_equal(alpha, skin):
            out.append(("alpha-not-skin", "no occluders but alpha != skin"))
    else:
        off = cv2.compare(cv2.absdiff(alpha, skin), 1, cv2.CMP_GT)
        n = cv2.countNonZero(cv2.bitwise_and(off, cv2.compare(occ, 0, cv2.CMP_EQ)))
        if n:
            out.append(("alpha-not-skin", f"alpha differs from skin by > 1 level at {n} unoccluded pixels"))
    if skin.max() == 0:
        out.append(("empty-skin", "the skin matte is empty"))
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (478, 2):
        out.append(("landmarks-shape", f"landmarks have shape {lm.shape}, expected (478, 2)"))
    elif not np.isfinite(lm).all() or lm.min() < -0.5 or lm.max() > 1.5:
        out.append(("landmarks-range", "landmarks are not finite normalised coordinates"))
    return out


def verify_dataset(path: str | Path, *, decode: bool = True, progress: bool = False) -> VerifyReport:
    """Verify a dataset folder.

    Checks: the manifest lists every shard with its row count and sha256, and nothing else is in ``data/``;
    each shard's rows decode (images RGB, mattes 8-bit L of equal size); ``alpha <= skin`` everywhere and
    ``alpha == skin`` wherever no occluder reaches (exactly for rows without occluders, within one level of
    quantisation where ``occluder_alpha`` rounds to 0); landmarks are ``(478, 2)`` normalised; the card's
    YAML lists the splits, counts and features of the shards.

    Args:
        path: the dataset folder.
        decode: decode every image (turn off for a quick checksum-only check).
        progress: show a progress bar over rows.
    """
    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    root = Path(path)
    faults = _Faults()
    checked = {"shards": 0, "rows": 0}
    if not root.is_dir():
        return VerifyReport(False, [f"[missing-folder] {root} is not a folder"], checked)
    mpath = root / "manifest.json"
    try:
        manifest = json.loads(mpath.read_text())
    except FileNotFoundError:
        return VerifyReport(False, [f"[missing-manifest] {mpath} does not exist: is this a celebamat build?"], checked)
    except json.JSONDecodeError as exc:
        return VerifyReport(False, [f"[broken-manifest] {mpath}: {exc}"], checked)

    listed = {s["path"]: s for s in manifest.get("shards", [])}
    present = {f"data/{p.name}" for p in (root / "data").glob("*")} if (root / "data").is_dir() else set()
    for extra in sorted(present - set(listed)):
        faults.add("unlisted-file", f"{extra} is not in the manifest (a leftover or foreign file)")
    split_rows: dict[str, int] = {}
    total = sum(s["rows"] for s in listed.values())
    bar = tqdm(total=total, desc="verifying", unit="row", disable=not progress)
    for rel, info in listed.items():
        f = root / rel
        if not f.exists():
            faults.add("missing-shard", f"{rel} is listed in the manifest but missing")
            continue
        if sha256_file(f) != info["sha256"]:
            faults.add("checksum", f"{rel}: sha256 differs from the manifest (corrupt or modified shard)")
            continue
        try:
            pf = pq.ParquetFile(f)
        except Exception as exc:  # noqa: BLE001
            faults.add("unreadable-shard", f"{rel}: not a readable parquet file ({exc})")
            continue
        if pf.metadata.num_rows != info["rows"]:
            faults.add("row-count", f"{rel}: {pf.metadata.num_rows} rows, manifest says {info['rows']}")
        split_rows[info["split"]] = split_rows.get(info["split"], 0) + pf.metadata.num_rows
        checked["shards"] += 1
        if not decode:
            continue
        for batch in pf.iter_batches(batch_size=32):
            for i, row in enumerate(batch.to_pylist()):
                where = f"{rel} row {row.get('id', i)}"
                _check_row(row, where, faults)
                checked["rows"] += 1
                bar.update(1)
    bar.close()
    for s, n in manifest.get("splits", {}).items():
        if split_rows.get(s, 0) != n:
            faults.add("split-count", f"split {s}: shards hold {split_rows.get(s, 0)} rows, manifest says {n}")
    _check_card(root, manifest, split_rows, faults)
    lines = faults.lines()
    return VerifyReport(ok=not lines, faults=lines, checked=checked)


def _check_card(root: Path, manifest: dict[str, Any], split_rows: dict[str, int], faults: _Faults) -> None:
    from celebamat.dataset.card import card_infos, read_card_yaml
    from celebamat.dataset.schema import features

    card = root / "README.md"
    if not card.exists():
        faults.add("missing-card", "README.md (the dataset card) is missing")
        return
    try:
        meta = read_card_yaml(card)
    except Exception as exc:  # noqa: BLE001
        faults.add("card-yaml", f"README.md front matter is not valid YAML ({exc})")
        return
    configs = meta.get("configs") or []
    files = {d["split"]: d["path"] for c in configs for d in c.get("data_files", [])}
    for s in SPLITS:
        if split_rows.get(s) and s not in files:
            faults.add("card-splits", f"README.md configs do not list split {s!r}")
    info = meta.get("dataset_info") or {}
    for entry in info.get("splits", []):
        if split_rows.get(entry.get("name"), 0) != entry.get("num_examples"):
            faults.add(
                "card-counts",
                f"README.md says split {entry.get('name')} has {entry.get('num_examples')} examples, "
                f"shards hold {split_rows.get(entry.get('name'), 0)}",
            )
    try:
        # Parsed as `load_dataset` parses it: the features a user of this card will get.
        card_info = card_infos(card).get("default")
    except Exception as exc:  # noqa: BLE001
        faults.add("card-features", f"README.md dataset_info.features does not parse ({exc})")
        return
    card_features = card_info.features if card_info is not None else None
    if card_features is None:
        faults.add("card-features", "README.md dataset_info declares no features for the default config")
        return
    if card_features != features():
        faults.add("card-features", "README.md dataset_info.features differ from the CelebAMat schema")
