"""celebamat.utils.cpu: the environment of processes on NumPy's and OpenCV's baseline kernels."""

import subprocess
import sys

import numpy as np

from celebamat.utils.cpu import OPENCV_DISPATCHED, baseline_cpu_env

_FOUND = "import numpy as np; print(' '.join(np.show_config(mode='dicts')['SIMD Extensions'].get('found', [])))"


def test_baseline_env_switches_off_what_numpy_dispatches_to_here():
    env = baseline_cpu_env({"PATH": "/bin"})
    found = np.show_config(mode="dicts")["SIMD Extensions"].get("found", [])
    assert set(found) <= set(env["NPY_DISABLE_CPU_FEATURES"].split())
    assert env["OPENCV_CPU_DISABLE"].split(",") == list(OPENCV_DISPATCHED) and env["PATH"] == "/bin"
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "1"
    # A process started with it dispatches to nothing beyond the baseline.
    out = subprocess.run([sys.executable, "-c", _FOUND], env=baseline_cpu_env(), capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.strip() == ""


def test_baseline_env_from_a_baseline_process_keeps_the_switches():
    """In a process already on the baseline NumPy finds nothing to switch off; the environment it makes for its
    own workers must still switch off what its parent did (or they would run the CPU's kernels again)."""
    code = ("from celebamat.utils.cpu import baseline_cpu_env; import subprocess, sys; "
            f"print(subprocess.run([sys.executable, '-c', {_FOUND!r}], env=baseline_cpu_env(), "
            "capture_output=True, text=True, check=True).stdout.strip() or 'none')")
    out = subprocess.run([sys.executable, "-c", code], env=baseline_cpu_env(), capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.strip() == "none"
    kept = baseline_cpu_env({"NPY_DISABLE_CPU_FEATURES": "AVX512_SPR"})["NPY_DISABLE_CPU_FEATURES"].split()
    assert "AVX512_SPR" in kept and len(kept) == len(set(kept))
