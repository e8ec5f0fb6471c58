"""NumPy and OpenCV on their baseline kernels: the same last bits on every x86-64 CPU.

Both libraries pick SIMD kernels per CPU at run time (AVX2, FMA, AVX-512), and their transcendental functions
(``exp``, ``sin``, ``power``...) differ in the last bits between those kernels. Where a computation must give
the same bytes on any machine (the bundled occluder library), it runs in processes started with
:func:`baseline_cpu_env`, which switches the dispatch off.
"""

from __future__ import annotations

import os

import numpy as np

#: OpenCV's names of the SIMD groups it dispatches to at run time (its baseline is SSE3); names a build does
#: not know are ignored with a warning.
OPENCV_DISPATCHED = ("SSSE3", "SSE4.1", "SSE4.2", "POPCNT", "FP16", "AVX", "AVX2", "FMA3", "AVX512F",
                     "AVX512-COMMON", "AVX512-SKX", "AVX512-CLX", "AVX512-CNL", "AVX512-ICL", "AVX_VNNI")


def baseline_cpu_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment (``base``, default ``os.environ``, plus the switches) for a new process whose NumPy and
    OpenCV run only their baseline kernels, as on the plainest x86-64 machine, with one BLAS thread."""
    base = dict(os.environ if base is None else base)
    simd = np.show_config(mode="dicts")["SIMD Extensions"]  # public: what this NumPy dispatches to here
    # In a process already on the baseline, NumPy finds nothing to switch off: keep what is switched off.
    off = list(dict.fromkeys([*simd.get("found", []), *base.get("NPY_DISABLE_CPU_FEATURES", "").split()]))
    return {**base, "NPY_DISABLE_CPU_FEATURES": " ".join(off),
            "OPENCV_CPU_DISABLE": ",".join(OPENCV_DISPATCHED), "OPENBLAS_CORETYPE": "Nehalem",
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
