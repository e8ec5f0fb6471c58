"""facemat's side of celebamat's skin-model interface.

celebamat never imports facemat (docs/architecture.md). Where a ``folder:`` source estimates skin with a
network (``faces.options = { skin_model = ... }``), celebamat looks up a loader in the entry-point group
``celebamat.matting_models``; facemat registers :func:`load_skin_runtime` there (setup.cfg).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load_skin_runtime(spec: str, threads: int = 1) -> tuple[Any, Path, str]:
    """A FaceMat runtime for ``spec``: ``bundled``, ``bundled:NAME`` or a checkpoint path.

    Returns:
        ``(runtime, weights file, label)``: the runtime (called on ``(N, 3, S, S)`` float batches, returns
        ``{"alpha": ...}``), the file its weights come from (for a digest), and a label for the skin source
        (``bundled:NAME`` or the file name).
    """
    from .pretrained import PretrainedError, pretrained_dir
    from .runtime import load_runtime

    spec = str(spec)
    if spec == "bundled" or spec.startswith("bundled:"):
        try:
            folder = pretrained_dir(spec.partition(":")[2] or None)
        except PretrainedError as exc:
            raise FileNotFoundError(str(exc)) from exc
        path, label = folder / "model.safetensors", f"bundled:{folder.name}"
    else:
        path = Path(spec).expanduser()
        label = path.name
    # One thread: the same float sums, hence the same 8-bit mattes, whatever the build's worker count.
    return load_runtime(path, threads=threads), path, label
