"""Internals of other packages are used only where no public route exists, and then under an upper version bound.

The public routes (pyarrow's ParquetWriter, the card classes, the faces API) replaced private ones; these tests
keep the private ones from coming back, and keep every remaining reliance on a package's internals bounded in
setup.cfg by a version the test suite has run against.
"""

from __future__ import annotations

import configparser
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
CODE_DIRS = ("celebamat", "facemat", "benchmarks")

#: Private routes that have a public replacement: they must not appear in the code again.
REPLACED = {
    "datasets.arrow_writer": "pyarrow.parquet.ParquetWriter (celebamat.dataset.parquet)",
    "_to_yaml_list": "DatasetInfosDict.to_dataset_card_data (celebamat.dataset.card)",
    "_from_yaml_list": "celebamat.dataset.card.card_infos",
    "_FACES": "celebamat.dataset.worker.load_face",
}
#: The module a private name belongs to (it may use it; no other module may).
OWNERS = {"_FACES": "celebamat/dataset/worker.py"}

#: Package -> text in the code that relies on what the package does not promise publicly.
BOUNDED = {
    "datasets": ["DatasetInfosDict"],
    "huggingface_hub": ["upload_info"],
    "pyarrow": ["use_content_defined_chunking"],
    "joblib": ["_MAX_MEMORY_LEAK_SIZE"],
}


def _code() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8")
            for d in CODE_DIRS for p in sorted((ROOT / d).rglob("*.py"))}


def _requirements() -> dict[str, Requirement]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    reqs = [Requirement(line) for line in cfg["options"]["install_requires"].splitlines() if line.strip()]
    return {r.name.lower().replace("_", "-"): r for r in reqs}


@pytest.mark.parametrize("needle", sorted(REPLACED))
def test_replaced_private_routes_stay_gone(needle):
    users = [path for path, text in _code().items()
             if path != OWNERS.get(needle) and re.search(rf"\b{re.escape(needle)}\b", text)]
    assert not users, f"{needle} is used again in {users}; use {REPLACED[needle]}"


@pytest.mark.parametrize("package", sorted(BOUNDED))
def test_internals_in_use_are_bounded_and_the_installed_version_is_inside(package):
    code = "\n".join(_code().values())
    for needle in BOUNDED[package]:
        assert needle in code, f"{needle} is no longer used: drop it from BOUNDED (and maybe the bound of {package})"
    req = _requirements()[package.replace("_", "-")]
    uppers = [s for s in req.specifier if s.operator in ("<", "<=", "==", "~=")]
    assert uppers, f"setup.cfg: {req} has no upper bound, but celebamat relies on {package}'s internals"
    assert req.specifier.contains(version(package)), f"installed {package} {version(package)} is outside {req}"
