"""Choices fixed by a name: the same on every run and machine, with no random state.

``name_hash`` is the first 32 bits of the name's sha256; ``stable_split`` puts a stable ``test_fraction`` of
names in ``"test"`` by it. The occluder importers split assets by file name, the harvest by donor identity,
the presets by group: one rule for all three, so a name always lands in the same split.
"""

from __future__ import annotations

import hashlib


def name_hash(name: str) -> int:
    """A 32-bit number fixed by ``name`` (the first 8 hex digits of its UTF-8 sha256)."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)


def stable_split(name: str, test_fraction: float) -> str:
    """``"test"`` for a stable ``test_fraction`` of names (by :func:`name_hash`), else ``"train"``."""
    return "test" if name_hash(name) / 0xFFFFFFFF < test_fraction else "train"
