"""Fixtures shared by the whole suite: an offline, throw-away Hugging Face cache for every test."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def _isolated_hf(tmp_path_factory, monkeypatch):
    """Never touch the user's HF cache or the network: a name not found locally fails at once."""
    home = tmp_path_factory.mktemp("hf_home")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(home / "datasets"))
    monkeypatch.setenv("HF_HUB_OFFLINE", os.environ.get("HF_HUB_OFFLINE", "1"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")


def write_bomb_png(path, side: int = 20_000) -> None:
    """A ``side`` x ``side`` one-colour PNG (1-bit grey) of a few KB: a decompression bomb that costs nothing
    to write, written with zlib so no ``side`` x ``side`` array is ever made."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    z = zlib.compressobj(9)
    data = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b""))


@pytest.fixture(scope="session")
def bomb_png(tmp_path_factory):
    """Path of a 20,000 x 20,000 PNG (400 MP, a few KB): copy it where a test needs it."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    write_bomb_png(path)
    return path
