"""The README's training-throughput figures are the ones docs/facemat.md records (no two versions of a figure)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _docs_range(text: str, figure: str) -> str:
    """``low-high`` (or the single value) of the runs docs/facemat.md lists for ``figure``."""
    row = re.search(rf"^\| {re.escape(figure)} \|(.*)\|\s*$", text, re.MULTILINE)
    assert row, f"docs/facemat.md has no throughput row {figure!r}"
    values = sorted(float(v) for v in re.findall(r"\d+(?:\.\d+)?", row.group(1)))
    fmt = [f"{v:g}" for v in (values[0], values[-1])]
    return fmt[0] if fmt[0] == fmt[1] else "-".join(fmt)


def test_readme_training_throughput_matches_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    docs = (ROOT / "docs" / "facemat.md").read_text(encoding="utf-8")
    lines = readme.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("| `bench_train.py` |"))
    train, loader = lines[i].split("|")[3].strip(), lines[i + 1].split("|")[3].strip()
    want_train = f"{_docs_range(docs, 'teacher, 256 px')} / {_docs_range(docs, 'student, 256 px')}"
    assert train == want_train, f"README says {train}, docs/facemat.md {want_train}"
    assert loader == _docs_range(docs, "data loader, 256 px")
