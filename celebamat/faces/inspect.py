"""Inspecting a face source: load faces, tally skips, draw a contact sheet of mattes and anchors."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import cv2
import numpy as np

from celebamat.errors import FaceSkipped
from celebamat.faces.base import FaceSource
from celebamat.faces.record import FaceRecord
from celebamat.landmarks import face_anchors


@dataclass
class InspectReport:
    """Faces loaded (``records``), faces skipped (``skipped``: (key, reason, detail)) and load times (ms)."""

    records: list[FaceRecord] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    load_ms: list[float] = field(default_factory=list)

    def summary(self) -> str:
        """Human-readable summary: counts, skip reasons, per-face load time."""
        n = len(self.records) + len(self.skipped)
        lines = [f"faces found: {len(self.records)} of {n}"]
        if self.load_ms:
            ms = np.asarray(self.load_ms)
            lines.append(f"load time per face: median {np.median(ms):.0f} ms, mean {ms.mean():.0f} ms, max {ms.max():.0f} ms")
        if self.skipped:
            counts = Counter(r for _, r, _ in self.skipped)
            lines.append(f"faces skipped: {len(self.skipped)} (" + ", ".join(f"{r}: {c}" for r, c in counts.most_common()) + ")")
            for key, reason, detail in self.skipped:
                lines.append(f"  skipped {key}: {reason}" + (f" ({detail})" if detail else ""))
        return "\n".join(lines)


def inspect_source(source: FaceSource, limit: int | None = None, progress: bool = True) -> InspectReport:
    """Load up to ``limit`` faces of ``source`` (in key order), collecting records and skips."""
    import time

    from tqdm.auto import tqdm

    keys = source.keys()[: limit if limit is not None else None]
    report = InspectReport()
    for key in tqdm(keys, desc=f"loading {source.spec}", unit="face", disable=not progress):
        t = time.perf_counter()
        try:
            rec = source.load_usable(key)
        except FaceSkipped as exc:
            report.skipped.append((exc.key, exc.reason, exc.detail))
            continue
        report.load_ms.append((time.perf_counter() - t) * 1000.0)
        report.records.append(rec)
    return report


# Anchor label colours by region (RGB).
_COLORS = {"eye": (255, 220, 0), "brow": (255, 140, 0), "nose": (0, 200, 255), "mouth": (255, 60, 60),
           "lip": (255, 60, 60), "chin": (200, 100, 255), "jaw": (200, 100, 255), "ear": (255, 255, 255)}


def _color(name: str) -> tuple[int, int, int]:
    for k, c in _COLORS.items():
        if k in name:
            return c
    return (0, 255, 160)


def draw_face(record: FaceRecord, tile: int = 384, labels: bool = True, tint=(40, 120, 255)) -> np.ndarray:
    """One contact-sheet tile: the face with its skin matte tinted, anchors drawn and labelled, the id below.

    Returns ``(tile + 18, tile, 3)`` uint8 RGB.
    """
    s = tile / record.size
    img = cv2.resize(record.image, (tile, tile), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    skin = cv2.resize(record.skin, (tile, tile), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    a = 0.55 * skin[..., None]
    out = (img.astype(np.float32) * (1 - a) + np.asarray(tint, np.float32) * a).astype(np.uint8)
    # Outline the matte's 0.5 level so its exact edge is visible over the tint.
    edge = cv2.morphologyEx((skin > 0.5).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    out[edge] = (255, 255, 255)
    font = cv2.FONT_HERSHEY_SIMPLEX
    fs = max(0.25, 0.3 * tile / 384)
    for name, p in face_anchors(record.landmarks).items():
        x, y = int(round(p[0] * s)), int(round(p[1] * s))
        col = _color(name)
        cv2.circle(out, (x, y), max(2, tile // 128), col, -1, cv2.LINE_AA)
        if labels:
            cv2.putText(out, name, (x + 3, y - 3), font, fs, (0, 0, 0), 2, cv2.LINE_AA)
            cv2.putText(out, name, (x + 3, y - 3), font, fs, col, 1, cv2.LINE_AA)
    bar = np.full((18, tile, 3), 30, np.uint8)
    text = record.face_id + (f"  [{record.identity}]" if record.identity else "")
    cv2.putText(bar, text[: tile // 6], (3, 13), font, 0.38, (235, 235, 235), 1, cv2.LINE_AA)
    return np.vstack([out, bar])


def contact_sheet(records: list[FaceRecord], columns: int = 4, tile: int = 384, labels: bool = True) -> np.ndarray:
    """A grid of :func:`draw_face` tiles, ``(rows * (tile + 18), columns * tile, 3)`` uint8 RGB."""
    if not records:
        img = np.full((60, 420, 3), 30, np.uint8)
        cv2.putText(img, "no faces loaded", (10, 38), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (235, 235, 235), 1, cv2.LINE_AA)
        return img
    columns = max(1, min(columns, len(records)))
    tiles = [draw_face(r, tile, labels) for r in records]
    blank = np.zeros_like(tiles[0])
    tiles += [blank] * (-len(tiles) % columns)
    rows = [np.hstack(tiles[i: i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


def save_sheet(path, sheet: np.ndarray) -> None:
    """Write an RGB sheet to ``path`` (PNG, JPEG...), creating the parent folder."""
    from pathlib import Path

    from PIL import Image

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(p)
