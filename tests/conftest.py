"""Fixtures shared by the whole suite: an offline, throw-away Hugging Face cache for every test, and a local
Hub test server (``hub``, with ``hub_client``: the client online against it only) for the publishing tests of
both packages (``tests/hub_server.py``; users and tokens in ``tests/hub_tokens.py``)."""

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


@pytest.fixture
def hub_client(tmp_path, monkeypatch):
    """No real Hub, no saved login, no Xet, but online: a test starts as a fresh user would.

    The real ``huggingface_hub`` client talks to the ``hub`` server over HTTP on 127.0.0.1; its home, cache and
    saved-token paths point into a temporary folder, so a login on the machine running the tests is never used.
    """
    import huggingface_hub.constants as constants

    home = tmp_path / "hf_home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    # The suite runs offline (above); these tests talk to their own server on 127.0.0.1 only.
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "0")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
    return home


@pytest.fixture
def hub():
    """A running test Hub: alice may write to ``alice/*`` and ``celeb-lab/*``; bob's reader token is read-only."""
    from hub_server import HubServer
    from hub_tokens import TOKEN_READER, TOKENS

    with HubServer(TOKENS, orgs={"alice": ["celeb-lab"]}, read_only={TOKEN_READER}) as server:
        yield server
