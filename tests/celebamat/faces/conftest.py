"""Shared fixtures: demo photos and faces are loaded once per session (mediapipe runs are the slow part)."""

from __future__ import annotations

import numpy as np
import pytest

from celebamat.faces import open_source
from celebamat.faces.demo import demo_photo


@pytest.fixture(scope="session")
def demo_source():
    return open_source("demo", size=256)


@pytest.fixture(scope="session")
def demo_faces(demo_source):
    """The plain (m0) demo faces at 256 px, by photo name."""
    return {p: demo_source.load(f"demo:{p}-m0") for p in ("astronaut", "grace_hopper")}


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return demo_photo("astronaut")


@pytest.fixture(scope="session")
def grace() -> np.ndarray:
    return demo_photo("grace_hopper")
