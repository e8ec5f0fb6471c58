"""Fixtures for facemat tests: an isolated, offline Hugging Face cache and a tiny dataset folder."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

# datasets reads HF_HOME when imported: isolate the cache before any test imports it.
_HF_HOME = tempfile.mkdtemp(prefix="facemat-hf-")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
sys.path.insert(0, str(Path(__file__).parent))

from synthetic import make_dataset  # noqa: E402


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """A CelebAMat-format folder: 64 px rows, train 32 / validation 8 / test 8."""
    return make_dataset(tmp_path_factory.mktemp("celebamat-tiny"), size=64, seed=0)
