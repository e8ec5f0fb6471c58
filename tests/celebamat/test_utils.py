"""The shared helpers of ``celebamat.utils``: one atomic write for both packages, one stable name split."""

from __future__ import annotations

import hashlib

import pytest

from celebamat.utils.hashing import name_hash, stable_split
from celebamat.utils.io import atomic_write_bytes, atomic_write_text, sha256_file


def test_a_failed_atomic_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "card.md"
    atomic_write_text(path, "old")
    with pytest.raises(TypeError):
        atomic_write_bytes(path, "not bytes")  # fails after the temporary file exists
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.md"]


def test_atomic_writes_and_checksums(tmp_path):
    path = tmp_path / "sub" / "a.bin"
    atomic_write_bytes(path, b"abc")
    assert path.read_bytes() == b"abc"
    assert sha256_file(path) == hashlib.sha256(b"abc").hexdigest()


def test_the_stable_split_is_the_rule_the_importers_harvest_and_presets_used():
    names = [f"asset-{i}" for i in range(400)]
    for name in names:  # the formula the three copies shared, spelled out once more
        h = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
        assert name_hash(name) == h
        assert stable_split(name, 0.2) == ("test" if h / 0xFFFFFFFF < 0.2 else "train")
    share = sum(stable_split(n, 0.2) == "test" for n in names) / len(names)
    assert 0.12 < share < 0.28
    assert stable_split("x", 0.0) == "train" and stable_split("x", 1.0) == "test"
