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
