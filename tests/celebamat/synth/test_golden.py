"""The sample-format version guards the bytes of a sample: rendering the golden samples (a stored face, the
tests' library) must give the recorded bytes, or SAMPLE_FORMAT_VERSION must have changed.

The render runs in a subprocess on NumPy's and OpenCV's baseline kernels, so the recorded bytes hold on any
x86-64 CPU; a second render in this process shows this CPU's own kernels give the same bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from celebamat.dataset.schema import SAMPLE_FORMAT_VERSION

HERE = Path(__file__).parent
UPDATE = "bump SAMPLE_FORMAT_VERSION in celebamat/dataset/schema.py, then run python tests/celebamat/synth/golden.py --update"


def _render(env=None) -> dict:
    r = subprocess.run([sys.executable, str(HERE / "golden.py")], env=env, capture_output=True, text=True,
                       timeout=300, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads((HERE / "golden" / "samples.json").read_text())


@pytest.fixture(scope="module")
def baseline(cpu_baseline_env) -> dict:
    return _render(cpu_baseline_env)


def test_golden_is_for_this_sample_format(golden):
    assert golden["sample_format"] == SAMPLE_FORMAT_VERSION, (
        f"SAMPLE_FORMAT_VERSION is {SAMPLE_FORMAT_VERSION} but the golden samples were recorded at "
        f"{golden['sample_format']}: run python tests/celebamat/synth/golden.py --update")


def test_golden_samples_render_to_the_recorded_bytes(golden, baseline):
    assert [s["occluders"] for s in baseline["samples"]] == [s["occluders"] for s in golden["samples"]], UPDATE
    for got, want in zip(baseline["samples"], golden["samples"]):
        # Always: the picture is the same (8 x 8 block means within half a level).
        for col in ("image", "alpha"):
            diff = np.abs(np.asarray(got["blocks"][col]) - np.asarray(want["blocks"][col])).max()
            assert diff <= 0.5, f"sample {want['index']}: {col} changed (block means differ by {diff:.2f}); {UPDATE}"
        assert got["params_sha256"] == want["params_sha256"], f"sample {want['index']}: params changed; {UPDATE}"
        if baseline["versions"] == golden["versions"]:
            # Same encoders: the bytes themselves (CI installs these versions: .ci/constraints.txt).
            assert got["sha256"] == want["sha256"], f"sample {want['index']}: bytes changed; {UPDATE}"


def test_this_cpu_renders_the_same_bytes_as_the_baseline_kernels(baseline):
    native = _render()
    assert native == baseline
