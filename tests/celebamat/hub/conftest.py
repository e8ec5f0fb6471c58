"""Fixtures for the publishing tests: a local Hub-compatible server and a tiny dataset folder.

The real ``huggingface_hub`` client talks to the server over HTTP on 127.0.0.1. Xet storage is disabled (the
server speaks the LFS protocol) and the client's home, cache and saved-token paths point into a temporary
folder, so a login on the machine running the tests is never used.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hub_server import HubServer  # noqa: E402
from hub_tokens import TOKEN_READER, TOKENS  # noqa: E402
from tiny_dataset import make_tiny_dataset  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_hub_client(tmp_path, monkeypatch):
    """No real Hub, no saved login, no Xet, but online: every test starts as a fresh user would."""
    import huggingface_hub.constants as constants

    home = tmp_path / "hf_home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    # The suite runs offline (tests/conftest.py); these tests talk to their own server on 127.0.0.1 only.
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
    with HubServer(TOKENS, orgs={"alice": ["celeb-lab"]}, read_only={TOKEN_READER}) as server:
        yield server


@pytest.fixture(scope="session")
def tiny_dataset_master(tmp_path_factory) -> Path:
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny") / "ds")


@pytest.fixture
def tiny_dataset(tiny_dataset_master, tmp_path) -> Path:
    """A private copy of the tiny real build (tests may alter it)."""
    return Path(shutil.copytree(tiny_dataset_master, tmp_path / "ds"))
