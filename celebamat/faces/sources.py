"""The ``open_source`` factory: a spec string -> the face source that reads it (demo, folder, CelebAMask-HQ).

It lives apart from the interface (``celebamat.faces.base``) so that the interface never imports the classes
that implement it; each source is imported when its spec is opened.
"""

from __future__ import annotations

from pathlib import Path

from celebamat.errors import CelebAMatError
from celebamat.faces.base import FaceSource

#: Options each source kind accepts (a recipe's ``faces.options``).
_SOURCE_OPTIONS = {
    "demo": {"variants"},
    "folder": {"mask_suffix", "identity_from_folders", "skin_model"},
    "celebamask-hq": {"skin_parts", "occlusion_filter", "occlusion_parts"},
}


def open_source(spec: str, size: int = 512, **options) -> FaceSource:
    """Open a face source from its spec.

    Specs:
        ``demo``: the public-domain photos shipped by scikit-image and matplotlib, several variants each.
        ``folder:DIR``: any folder of face photos (recursive), aligned from their landmarks.
        ``celebamask-hq:ROOT``: the CelebAMask-HQ dataset as distributed.

    Options (``celebamask-hq``): ``skin_parts``, ``occlusion_filter`` (float threshold or ``None``),
    ``occlusion_parts``. (``folder``): ``mask_suffix``, ``identity_from_folders``, ``skin_model`` (a FaceMat
    checkpoint that estimates the skin of photos without a sidecar mask). (``demo``): ``variants``.

    Raises:
        CelebAMatError: unknown spec, missing folder or a root that does not look like the dataset.
    """
    kind, _, arg = spec.partition(":")
    kind = kind.strip().lower()
    family = "celebamask-hq" if kind.startswith("celebamask") else kind
    allowed = _SOURCE_OPTIONS.get(family)
    if allowed is not None and set(options) - allowed:
        raise CelebAMatError(
            f"face source {spec!r} does not take option(s) {', '.join(sorted(set(options) - allowed))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    if kind == "demo":
        from celebamat.faces.demo import DemoSource

        return DemoSource(spec, size, **options)
    if kind == "folder":
        from celebamat.faces.folder import FolderSource

        if not arg:
            raise CelebAMatError("folder source needs a directory: folder:DIR")
        return FolderSource(spec, Path(arg).expanduser(), size, **options)
    if kind in ("celebamask-hq", "celebamaskhq", "celebamask"):
        from celebamat.faces.celebamask import CelebAMaskHQSource

        if not arg:
            raise CelebAMatError("celebamask-hq source needs the dataset root: celebamask-hq:ROOT")
        return CelebAMaskHQSource(spec, Path(arg).expanduser(), size, **options)
    raise CelebAMatError(f"unknown face source {spec!r}; expected demo, folder:DIR or celebamask-hq:ROOT")
