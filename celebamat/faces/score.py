"""Scoring a skin estimator against faces whose true skin is known (``celebamat faces score-skin``).

The truth is the source's own skin matte (CelebAMask-HQ part masks painted with the skin definition); the
estimate is what a ``folder:`` photo would get (:mod:`celebamat.faces.estimators`) run on the same aligned
image and landmarks. Both are compared at 0.5: IoU, precision (estimated skin that is true skin) and recall
(true skin that is estimated).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from celebamat.errors import FaceSkipped
from celebamat.faces.base import FaceSource
from celebamat.faces.estimators import SkinEstimator, skin_estimator


@dataclass(frozen=True)
class MaskScore:
    """Agreement of two binary masks: ``iou``, ``precision`` and ``recall`` in [0, 1]."""

    iou: float
    precision: float
    recall: float


def mask_scores(estimate: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> MaskScore:
    """IoU, precision and recall of ``estimate`` against ``truth`` (both ``(H, W)``, in [0, 1] or bool),
    each binarised at ``threshold``. Empty masks score 1.0 where nothing was to be found or claimed."""
    e = np.asarray(estimate) > threshold
    t = np.asarray(truth) > threshold
    if e.shape != t.shape:
        raise ValueError(f"estimate {e.shape} and truth {t.shape} differ in shape")
    inter = float(np.count_nonzero(e & t))
    ne, nt = float(np.count_nonzero(e)), float(np.count_nonzero(t))
    union = ne + nt - inter
    return MaskScore(iou=inter / union if union else 1.0, precision=inter / ne if ne else 1.0,
                     recall=inter / nt if nt else 1.0)


@dataclass
class SkinScoreReport:
    """Per-face scores (``rows``: key, :class:`MaskScore`, milliseconds), skipped faces and the sheet tiles."""

    estimator: str
    rows: list[tuple[str, MaskScore, float]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    tiles: list[np.ndarray] = field(default_factory=list)

    def mean(self) -> MaskScore:
        """Mean IoU, precision and recall over the scored faces (NaN when none)."""
        if not self.rows:
            return MaskScore(float("nan"), float("nan"), float("nan"))
        a = np.array([[s.iou, s.precision, s.recall] for _, s, _ in self.rows])
        return MaskScore(*(float(v) for v in a.mean(axis=0)))

    def table(self) -> str:
        """The printed report: one line per face, then the mean and the worst IoU."""
        lines = [f"skin estimator: {self.estimator}", f"{'face':<28} {'IoU':>6} {'prec':>6} {'recall':>6} {'ms':>6}"]
        for key, s, ms in self.rows:
            lines.append(f"{key:<28} {s.iou:6.3f} {s.precision:6.3f} {s.recall:6.3f} {ms:6.0f}")
        m = self.mean()
        lines.append(f"{'mean (' + str(len(self.rows)) + ' faces)':<28} {m.iou:6.3f} {m.precision:6.3f} {m.recall:6.3f}")
        if self.rows:
            key, worst, _ = min(self.rows, key=lambda r: r[1].iou)
            lines.append(f"worst IoU: {worst.iou:.3f} ({key})")
        for key, reason in self.skipped:
            lines.append(f"skipped {key}: {reason}")
        return "\n".join(lines)


def error_tile(image: np.ndarray, estimate: np.ndarray, truth: np.ndarray, label: str, tile: int = 256) -> np.ndarray:
    """A sheet tile: the face, then the estimate over it with misses (true skin left out) in blue and false
    skin in red, the estimate's 0.5 contour in white. Returns ``(tile + 18, 2 * tile, 3)`` uint8 RGB."""
    def fit(a: np.ndarray, interp: int = cv2.INTER_AREA) -> np.ndarray:
        return cv2.resize(a, (tile, tile), interpolation=interp)

    img = fit(image).astype(np.float32)
    e, t = fit(estimate.astype(np.float32)) > 0.5, fit(truth.astype(np.float32)) > 0.5
    over = img.copy()
    for mask, color in (((e & t), (40, 200, 90)), ((t & ~e), (40, 90, 255)), ((e & ~t), (255, 50, 40))):
        over[mask] = 0.45 * over[mask] + 0.55 * np.asarray(color, np.float32)
    edge = cv2.morphologyEx(e.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    over[edge] = 255
    bar = np.full((18, 2 * tile, 3), 30, np.uint8)
    cv2.putText(bar, label[: tile // 3], (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (235, 235, 235), 1, cv2.LINE_AA)
    return np.vstack([np.hstack([img, over]).astype(np.uint8), bar])


def score_skin(
    source: FaceSource,
    estimator: SkinEstimator | None = None,
    *,
    limit: int | None = None,
    tile: int = 256,
    progress: bool = False,
) -> SkinScoreReport:
    """Run ``estimator`` (default: the landmark estimator) on the faces of ``source`` and score it against
    each face's true skin matte (the record's ``skin``).

    Args:
        source: a source whose skin is annotated (``celebamask-hq:ROOT``, or a folder with sidecar masks);
            faces whose skin is itself estimated are skipped (reason ``no true skin``).
        estimator: see :func:`celebamat.faces.estimators.skin_estimator`.
        limit: score at most this many faces (key order).
        tile: side of each face's tiles on the sheet (0: no sheet tiles).

    Returns:
        A :class:`SkinScoreReport`; faces the source skips are listed with their reason.
    """
    from tqdm.auto import tqdm

    est = estimator if estimator is not None else skin_estimator()
    report = SkinScoreReport(estimator=est.name)
    for key in tqdm(source.keys()[:limit], desc="scoring skin", unit="face", disable=not progress):
        try:
            rec = source.load(key)
        except FaceSkipped as exc:
            report.skipped.append((key, exc.reason))
            continue
        if not rec.skin_source.startswith("annotation:"):
            # An estimated matte scored against an estimate would measure nothing.
            report.skipped.append((key, f"no true skin ({rec.skin_source or 'unknown'})"))
            continue
        t0 = time.perf_counter()
        estimate = est(rec.image, rec.landmarks)
        ms = (time.perf_counter() - t0) * 1000.0
        s = mask_scores(estimate, rec.skin)
        report.rows.append((key, s, ms))
        if tile:
            label = f"{key}  IoU {s.iou:.3f}  P {s.precision:.3f}  R {s.recall:.3f}"
            report.tiles.append(error_tile(rec.image, estimate, rec.skin, label, tile))
    return report


def score_sheet(report: SkinScoreReport, columns: int = 2) -> np.ndarray:
    """The report's tiles in a grid (``columns`` faces per row), ``uint8`` RGB."""
    if not report.tiles:
        return np.full((40, 400, 3), 30, np.uint8)
    tiles = list(report.tiles)
    columns = max(1, min(columns, len(tiles)))
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    return np.vstack([np.hstack(tiles[i: i + columns]) for i in range(0, len(tiles), columns)])
