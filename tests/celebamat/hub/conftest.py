"""Fixtures for the dataset publishing tests: a tiny dataset folder; the local Hub-compatible server (``hub``)
and the isolated client (``hub_client``) come from tests/conftest.py, shared with facemat's model push tests.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tiny_dataset import make_tiny_dataset  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_hub_client(hub_client):
    """Every test here starts as a fresh user would (``hub_client`` in tests/conftest.py)."""
    return hub_client


@pytest.fixture(scope="session")
def tiny_dataset_master(tmp_path_factory) -> Path:
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny") / "ds")


@pytest.fixture
def tiny_dataset(tiny_dataset_master, tmp_path) -> Path:
    """A private copy of the tiny real build (tests may alter it)."""
    return Path(shutil.copytree(tiny_dataset_master, tmp_path / "ds"))
