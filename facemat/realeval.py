"""Scoring on real-photo benchmarks, through the path users run, with an occlusion-blind baseline beside it.

Protocol (documented in ``docs/facemat.md``): each photo goes whole through :class:`facemat.predict.Predictor`
(``facemat-predict``'s face finder, alignment, prediction on the aligned crop, paste back into the photo).
Scores are computed on the **whole photo** at the ground truth's resolution (the pasted-back matte is resized
to the mask when their sizes differ):

- ``iou``, ``acc``, ``recall``: prediction and ground truth thresholded at 0.5 (``>= 0.5`` is visible face);
  recall = found visible face / visible face.
- ``sad`` (sum of absolute differences / 1000) and ``mse`` (mean squared error, printed x1e3), only for photos
  whose ground truth is soft (has values strictly between 0 and 1); binary masks have no such rows.

A photo in which no face is found gets an all-zero prediction (IoU 0 unless its ground truth is empty too),
counts in every mean, and is listed as a failure. Means are per photo. Only the faces the ground truth marks
are scored (:func:`marked_faces`): a second face in the photo that the finder finds is left out of every
method's matte.

Baselines (``--baseline``): ``mesh-oval`` fills the face-mesh face oval of every face the same finder found:
what a method that knows where the face is, but nothing about occlusion, scores.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .benchmarks import BenchmarkItem, iter_benchmark, load_benchmark
from .io import atomic_path, atomic_write_json, atomic_write_text
from .metrics import binary_scores

BASELINES = ("mesh-oval",)
#: metric key -> printed column (each names its region and scale).
BENCH_COLUMNS: dict[str, tuple[str, float]] = {
    "iou": ("IoU(whole photo,@0.5)", 1.0),
    "acc": ("Acc(whole photo,@0.5)", 1.0),
    "recall": ("Recall(visible face,@0.5)", 1.0),
    "sad": ("SAD(whole photo,/1e3)*", 1.0),
    "mse": ("MSE(whole photo,x1e3)*", 1e3),
}
SHEET_TILE = 160


def mesh_oval_alpha(faces: list[np.ndarray], shape: tuple[int, int]) -> np.ndarray:
    """The occlusion-blind baseline: the face-mesh face oval of each face, filled.

    Args:
        faces: ``(478, 2)`` (or ``(468, 2)``) landmark arrays in photo pixels.
        shape: ``(H, W)`` of the photo.

    Returns:
        ``(H, W)`` float32, 1 inside any face oval (boundary pixels included), else 0.
    """
    from celebamat.landmarks import FACE_OVAL

    out = np.zeros(shape, np.uint8)
    shift = 4  # sub-pixel vertices (1/16 px)
    polys = [np.round(np.asarray(lm, np.float64)[list(FACE_OVAL)] * (1 << shift)).astype(np.int32) for lm in faces]
    if polys:
        cv2.fillPoly(out, polys, 1, lineType=cv2.LINE_8, shift=shift)
    return out.astype(np.float32)


#: A face found in a benchmark photo is scored when the ground truth's visible face covers at least this fraction
#: of its face-mesh oval (docs/facemat.md: benchmarks mark one face; other faces in the photo are left out).
MARKED_FACE_FRACTION = 0.2


def marked_faces(faces: list[np.ndarray], gt: np.ndarray, shape: tuple[int, int]) -> list[np.ndarray]:
    """The faces a benchmark's ground truth marks, among those found.

    Benchmarks such as LaPa and ``segface_gt`` mark one face per photo; a finder that also finds a second face in
    the photo (a friend beside the subject) must not be charged for matting it. A face is kept when the ground
    truth covers at least :data:`MARKED_FACE_FRACTION` of its face-mesh oval; when none qualifies (an empty ground
    truth, or a face the hands hide whole), every face found is kept, so a wrong face still costs.

    Args:
        faces: ``(478, 2)`` landmark arrays in photo pixels.
        gt: ``(h, w)`` ground truth in [0, 1] (any size; compared at its own size).
        shape: ``(H, W)`` of the photo.
    """
    kept = []
    for lm in faces:
        oval = to_gt_size(mesh_oval_alpha([lm], shape), gt.shape) >= 0.5
        area = int(oval.sum())
        if area and float((gt[oval] >= 0.5).sum()) / area >= MARKED_FACE_FRACTION:
            kept.append(lm)
    return kept or list(faces)


def is_soft(gt: np.ndarray) -> bool:
    """Whether a ground truth in [0, 1] has fractional values (then SAD and MSE are reported)."""
    return bool(np.any((gt > 0) & (gt < 1)))


def score_photo(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """Scores of one photo (keys in the module docstring); ``pred`` and ``gt`` ``(H, W)`` in [0, 1]."""
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in shape")
    pred = np.clip(pred.astype(np.float64), 0.0, 1.0)
    gt = gt.astype(np.float64)
    out = binary_scores(pred, gt)
    if is_soft(gt):
        out["sad"] = float(np.abs(pred - gt).sum() / 1000.0)
        out["mse"] = float(((pred - gt) ** 2).mean())
    return out


def to_gt_size(pred: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a photo-sized matte to the ground truth's ``(h, w)`` (area filter when shrinking)."""
    if pred.shape == tuple(shape):
        return pred
    shrink = shape[0] < pred.shape[0]
    return cv2.resize(pred.astype(np.float32), (shape[1], shape[0]),
                      interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


@dataclass
class PhotoResult:
    """Scores of one photo: ``scores[method]`` (keys of :func:`score_photo`), faces found, the mattes kept for
    the sheet (``(h, w)`` float32 at the ground truth's size)."""

    name: str
    image: str
    faces: int
    scores: dict[str, dict[str, float]]
    mattes: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    found: int = -1  # faces the finder found, scored or not (-1: same as ``faces``)

    @property
    def failed(self) -> bool:
        return self.faces == 0

    def row(self) -> dict[str, Any]:
        """A flat per-photo row: name, image, faces, failed, then ``<method>.<metric>``."""
        out: dict[str, Any] = {"name": self.name, "image": self.image, "faces": self.faces,
                               "found": self.faces if self.found < 0 else self.found, "failed": self.failed}
        for method, sc in self.scores.items():
            out.update({f"{method}.{k}": v for k, v in sc.items()})
        return out


def summarise(results: list[PhotoResult], methods: list[str]) -> dict[str, dict[str, float]]:
    """Per-method means over photos: ``iou``/``acc``/``recall`` over all photos, ``sad``/``mse`` over the photos
    with soft ground truth (``soft_count`` of them)."""
    out: dict[str, dict[str, float]] = {}
    for m in methods:
        means: dict[str, float] = {}
        for key in BENCH_COLUMNS:
            vals = [r.scores[m][key] for r in results if key in r.scores[m]]
            if vals:
                means[key] = float(np.mean(vals))
        means["soft_count"] = sum(1 for r in results if "sad" in r.scores[m])
        out[m] = means
    return out


def run_benchmark(
    spec: str,
    predictor: Any = None,
    baselines: tuple[str, ...] = (),
    limit: int = 0,
    finder: Any = None,
    model_name: str = "model",
    progress: bool = False,
) -> tuple[list[PhotoResult], list[str]]:
    """Score a model and/or baselines on every photo of a benchmark ``KIND:DIR``.

    Args:
        spec: ``folder:DIR``, ``lapa:DIR`` or ``celebamask-hq:DIR`` (:mod:`facemat.benchmarks`).
        predictor: a :class:`facemat.predict.Predictor`, or ``None`` to score baselines only.
        baselines: names from :data:`BASELINES`.
        limit: score only the first ``limit`` photos (0 = all).
        finder: the face finder shared by model and baselines (default: the predictor's, else a new one).
        model_name: the method name of the model in the results.

    Returns:
        ``(results, methods)``: one :class:`PhotoResult` per photo and the method names in print order.
    """
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline {unknown[0]!r}; choose from {', '.join(BASELINES)}")
    if predictor is None and not baselines:
        raise ValueError("nothing to score: give a checkpoint, a baseline (--baseline mesh-oval), or both")
    items: list[BenchmarkItem] = load_benchmark(spec, limit)
    if finder is None:
        from .predict import FaceFinder

        finder = predictor.finder if predictor is not None else FaceFinder()
    methods = ([model_name] if predictor is not None else []) + list(baselines)
    results = []
    it = iter_benchmark(items)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, total=len(items), desc="benchmark", unit="photo")
    for item, image, gt in it:
        found = finder.find(image)
        faces = marked_faces(found, gt, image.shape[:2])
        mattes: dict[str, np.ndarray] = {}
        if predictor is not None:
            mattes[model_name] = predictor.predict(image, faces=faces).alpha
        for b in baselines:
            mattes[b] = mesh_oval_alpha(faces, image.shape[:2])
        mattes = {m: to_gt_size(a, gt.shape) for m, a in mattes.items()}
        scores = {m: score_photo(a, gt) for m, a in mattes.items()}
        results.append(PhotoResult(item.name, str(item.image_path), len(faces), scores, {**mattes, "gt": gt},
                                   found=len(found)))
    return results, methods


# ----------------------------------------------------------------------------------------------------------
# Reports


def format_summary(summary: dict[str, dict[str, float]], count: int, failures: list[str]) -> str:
    """Table: one line per method, one column per metric (region and scale in the header)."""
    keys = [k for k in BENCH_COLUMNS if any(k in s for s in summary.values())]
    heads = ["method", *[BENCH_COLUMNS[k][0] for k in keys]]
    rows = [[m, *[f"{s[k] * BENCH_COLUMNS[k][1]:.4f}" if k in s else "-" for k in keys]] for m, s in summary.items()]
    widths = [max(len(r[i]) for r in [heads, *rows]) for i in range(len(heads))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in [heads, *rows]]
    lines.append(f"{count} photos, means per photo; faces not found: {len(failures)}"
                 + (f" ({', '.join(failures)})" if failures else "") + " (scored as all-zero predictions)")
    if any("sad" in s for s in summary.values()):
        soft = max(int(s.get("soft_count", 0)) for s in summary.values())
        lines.append(f"* over the {soft} photos whose ground truth is soft")
    return "\n".join(lines)


def format_rows(results: list[PhotoResult], methods: list[str]) -> str:
    """Per-photo IoU table: faces found and scored (:func:`marked_faces`), then one column per method (``NO FACE``
    marks a failure)."""
    width = max([len("photo"), *(len(r.name) for r in results)])
    lines = ["photo".ljust(width) + "  found  scored" + "".join(f"  {('IoU ' + m)[:20]:>20}" for m in methods)]
    for r in results:
        found = r.faces if r.found < 0 else r.found
        cells = f"  {found:>5}  {r.faces:>6}" + "".join(f"  {r.scores[m]['iou']:>20.4f}" for m in methods)
        lines.append(r.name.ljust(width) + cells + ("  NO FACE" if r.failed else ""))
    return "\n".join(lines)


def write_csv(path: str | Path, results: list[PhotoResult]) -> Path:
    """Per-photo rows as CSV (atomic); columns are the union over rows, missing values empty."""
    rows = [r.row() for r in results]
    cols: list[str] = []
    for row in rows:
        cols.extend(k for k in row if k not in cols)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(path, buf.getvalue())


def _fit(tile: np.ndarray, side: int) -> np.ndarray:
    """Letterbox an ``(h, w, 3)`` uint8 tile into ``side x side`` (grey padding)."""
    h, w = tile.shape[:2]
    s = side / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    small = cv2.resize(tile, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_NEAREST)
    out = np.full((side, side, 3), 96, np.uint8)
    y, x = (side - nh) // 2, (side - nw) // 2
    out[y:y + nh, x:x + nw] = small
    return out


def error_tile(photo: np.ndarray, pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Errors on the dimmed photo: red = predicted face that is not visible face (false positive), blue =
    visible face missed (false negative), green tint = correct face. All ``(h, w)``; photo ``(h, w, 3)``."""
    p, g = pred >= 0.5, gt >= 0.5
    out = (photo.astype(np.float32) * 0.35).astype(np.uint8)
    out[p & g] = (out[p & g] * 0.5 + np.array([40, 160, 60]) * 0.5).astype(np.uint8)
    out[p & ~g] = (235, 40, 40)
    out[~p & g] = (40, 90, 255)
    return out


def _grey(a: np.ndarray) -> np.ndarray:
    return np.repeat((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)[..., None], 3, axis=-1)


def save_error_sheet(path: str | Path, results: list[PhotoResult], methods: list[str], max_rows: int = 24,
                     tile: int = SHEET_TILE) -> Path:
    """The error sheet PNG: per photo, photo | ground truth | per method: prediction, errors (with its IoU).

    With more photos than ``max_rows``, the worst ``max_rows`` by the first method's IoU are shown.
    """
    from PIL import Image, ImageDraw

    from .benchmarks import read_rgb

    shown = results
    if len(results) > max_rows:
        shown = sorted(results, key=lambda r: r.scores[methods[0]]["iou"])[:max_rows]
    cols = ["photo", "ground truth"] + [f"{m}: {what}" for m in methods for what in ("matte", "errors")]
    label_h = 14
    rows = []
    for r in shown:
        gt = r.mattes["gt"]
        photo = read_rgb(Path(r.image))
        if photo.shape[:2] != gt.shape:
            photo = cv2.resize(photo, (gt.shape[1], gt.shape[0]), interpolation=cv2.INTER_AREA)
        tiles = [_fit(photo, tile), _fit(_grey(gt), tile)]
        notes = [r.name + (" NO FACE" if r.failed else ""), ""]
        for m in methods:
            tiles += [_fit(_grey(r.mattes[m]), tile), _fit(error_tile(photo, r.mattes[m], gt), tile)]
            notes += ["", f"IoU {r.scores[m]['iou']:.3f}"]
        row = Image.fromarray(np.concatenate(tiles, axis=1))
        canvas = Image.new("RGB", (row.width, tile + label_h), "white")
        canvas.paste(row, (0, label_h))
        draw = ImageDraw.Draw(canvas)
        for j, note in enumerate(notes):
            draw.text((j * tile + 3, 1), note, fill="black")
        rows.append(canvas)
    width = tile * len(cols)
    header_h = 16
    sheet = Image.new("RGB", (width, header_h + sum(r.height for r in rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, name in enumerate(cols):
        draw.text((j * tile + 3, 2), name, fill="black")
    y = header_h
    for r in rows:
        sheet.paste(r, (0, y))
        y += r.height
    with atomic_path(path, suffix=".png") as tmp:
        sheet.save(tmp, format="PNG")
    return Path(path)


def write_reports(out_dir: str | Path, spec: str, results: list[PhotoResult], methods: list[str],
                  extra: dict[str, Any] | None = None, sheet_rows: int = 24) -> dict[str, Any]:
    """Write ``benchmark.json`` (summary, failures, per-photo rows), ``benchmark.csv`` and ``errors.png`` into
    ``out_dir`` (each atomically); returns the JSON document."""
    out = Path(out_dir)
    failures = [r.name for r in results if r.failed]
    doc = {
        "benchmark": spec,
        "count": len(results),
        "failures": failures,
        "methods": methods,
        "means": summarise(results, methods),
        "conventions": "whole photo at the ground truth's resolution; IoU/Acc/Recall at 0.5 (>= 0.5 is face); "
                       "SAD /1e3 and MSE raw (x1e3 when printed), only on photos with soft ground truth; "
                       "faces not found scored as all-zero predictions",
        **(extra or {}),
        "rows": [_finite(r.row()) for r in results],
    }
    atomic_write_json(out / "benchmark.json", doc)
    write_csv(out / "benchmark.csv", results)
    save_error_sheet(out / "errors.png", results, methods, max_rows=sheet_rows)
    return doc


def _finite(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}

