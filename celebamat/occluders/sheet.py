"""Contact sheet of a library: one row per (kind, subtype), assets on a checkerboard, anchors drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from celebamat.landmarks import EXIT_DIRECTIONS
from celebamat.occluders.asset import KINDS, OccluderLibrary


def _checker(w: int, h: int, cell: int = 8) -> Image.Image:
    yy, xx = np.mgrid[0:h, 0:w]
    v = np.where(((yy // cell) + (xx // cell)) % 2 == 0, 200, 150).astype(np.uint8)
    return Image.fromarray(np.dstack([v, v, v, np.full_like(v, 255)]), "RGBA")


def render_sheet(library: OccluderLibrary, out_path: str | Path, thumb: int = 128, per_row: int = 12) -> Path:
    """Write a PNG contact sheet. Anchors: red = face target, blue = exit, yellow = other; test assets get an
    orange frame. Returns the path written."""
    groups: dict[tuple[str, str], list] = {}
    for a in library.assets:
        groups.setdefault((a.kind, a.subtype), []).append(a)
    keys = sorted(groups, key=lambda k: (KINDS.index(k[0]) if k[0] in KINDS else 99, k[1]))
    label_w, pad = 130, 4
    rows = []
    for k in keys:
        items = groups[k]
        for i in range(0, len(items), per_row):
            rows.append((k, items[i:i + per_row], i == 0))
    W = label_w + per_row * (thumb + pad) + pad
    H = max(1, len(rows)) * (thumb + pad) + pad
    sheet = Image.new("RGB", (W, H), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for r, ((kind, subtype), items, first) in enumerate(rows):
        y = pad + r * (thumb + pad)
        if first:
            draw.text((6, y + 4), f"{kind}\n{subtype}\n({len(groups[(kind, subtype)])})", fill=(0, 0, 0))
        for c, a in enumerate(items):
            x = label_w + pad + c * (thumb + pad)
            img = Image.fromarray(a.rgba(), "RGBA")
            f = thumb / max(img.size)
            tw, th = max(1, round(img.size[0] * f)), max(1, round(img.size[1] * f))
            tile = _checker(thumb, thumb)
            ox, oy = (thumb - tw) // 2, (thumb - th) // 2
            tile.alpha_composite(img.resize((tw, th), Image.LANCZOS), (ox, oy))
            td = ImageDraw.Draw(tile)
            for name, (ax, ay) in a.anchors.items():
                tgt = a.targets.get(name)
                col = (230, 30, 30) if tgt and tgt not in EXIT_DIRECTIONS else (30, 90, 230) if tgt else (240, 200, 0)
                px, py = ox + ax * f, oy + ay * f
                td.ellipse([px - 3, py - 3, px + 3, py + 3], outline=col, width=2)
            if a.split == "test":
                td.rectangle([0, 0, thumb - 1, thumb - 1], outline=(255, 140, 0), width=3)
            sheet.paste(tile.convert("RGB"), (x, y))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out_path)
    return out_path
