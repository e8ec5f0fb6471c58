"""Atomic file writes: a reader never sees a half-written result, and a crash leaves the old file intact.

The temporary-file-then-rename core is :func:`celebamat.utils.io.atomic_path` (one implementation for both
packages; ``celebamat.utils`` is on the ground floor and imports nothing of either package). These writers
add the text and JSON forms facemat's results use.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from celebamat.utils.io import atomic_path

__all__ = ["atomic_path", "atomic_write_json", "atomic_write_text"]


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON (with a final newline) to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2) + "\n")
