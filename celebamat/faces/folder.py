"""``folder:DIR``: any folder of face photos, each aligned from its landmarks."""

from __future__ import annotations

import os
from pathlib import Path

from celebamat.errors import CelebAMatError, FaceSkipped
from celebamat.faces.base import FaceSource, files_signature
from celebamat.faces.estimators import DEFAULT_SKIN_MODEL, skin_estimator
from celebamat.faces.io import IMAGE_SUFFIXES, ImageReadError, read_image, read_mask
from celebamat.faces.photo import align_photo
from celebamat.faces.record import FaceRecord

#: Sidecar skin mask beside a photo: ``NAME.mask.png`` for ``NAME.jpg`` (255 = skin, same size as the photo).
MASK_SUFFIX = ".mask.png"


class FolderSource(FaceSource):
    """Face photos under a folder (recursive: jpg, jpeg, png, webp, bmp, tif), any size or mode.

    Keys are ``folder:<relative path>`` with ``/`` separators. Identity: the photo's parent folder name
    when the photo is in a sub-folder (``person_a/1.jpg`` -> ``person_a``), else ``None``. Each photo is
    aligned with :func:`celebamat.faces.photo.align_photo`; a sidecar ``NAME.mask.png`` gives the exact
    skin matte, otherwise it is estimated by ``skin_model``: the bundled FaceMat student by default
    (:data:`celebamat.faces.estimators.DEFAULT_SKIN_MODEL`), ``landmarks`` for the hand-written landmark
    estimator, or a FaceMat checkpoint (see :mod:`celebamat.faces.estimators`). Each record's ``skin_source``
    says which.
    """

    name = "folder"
    license = ("User-supplied photos: licence unknown to CelebAMat. Check that you may use and redistribute "
               "every photo (and the likeness of every person) before publishing data built from them.")

    def __init__(self, spec: str, root: Path, size: int = 512, mask_suffix: str = MASK_SUFFIX,
                 identity_from_folders: bool = True, skin_model: str | None = DEFAULT_SKIN_MODEL) -> None:
        super().__init__(spec, size)
        if not root.is_dir():
            raise CelebAMatError(f"folder source {spec!r}: {root} is not a directory; expected a folder of "
                                 "face photos (jpg, png, webp)")
        self.root = root
        self.mask_suffix = mask_suffix
        self.identity_from_folders = identity_from_folders
        # A bad checkpoint fails here, at open_source, naming the file, not once per face in the scan.
        self.estimator = skin_estimator(skin_model)
        self._files: dict[str, Path] | None = None

    def _index(self) -> dict[str, Path]:
        if self._files is None:
            files: dict[str, Path] = {}
            for dirpath, dirnames, filenames in os.walk(self.root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for fn in filenames:
                    low = fn.lower()
                    if fn.startswith(".") or low.endswith(self.mask_suffix) or not low.endswith(IMAGE_SUFFIXES):
                        continue
                    p = Path(dirpath) / fn
                    files["folder:" + p.relative_to(self.root).as_posix()] = p
            self._files = dict(sorted(files.items()))
        return self._files

    def keys(self) -> list[str]:
        return list(self._index())

    def signature(self) -> str:
        """Names, sizes and modification times of every photo and sidecar mask (re-listed from disk), and the
        skin estimator (a checkpoint's name carries its content digest)."""
        import hashlib

        self._files = None
        files = list(self._index().values())
        masks = [m for k in self._index() if (m := self.mask_path(k)).exists()]
        return hashlib.sha256(f"{files_signature(files + masks, self.root)}:{self.estimator.name}".encode()).hexdigest()

    def path(self, key: str) -> Path:
        try:
            return self._index()[key]
        except KeyError:
            raise KeyError(f"no photo {key!r} in {self.root}") from None

    def identity(self, key: str) -> str | None:
        rel = Path(key.partition(":")[2])
        if self.identity_from_folders and len(rel.parts) > 1:
            return rel.parent.as_posix()
        return None

    def mask_path(self, key: str) -> Path:
        p = self.path(key)
        return p.with_name(p.name[: -len(p.suffix)] + self.mask_suffix)

    def load(self, key: str) -> FaceRecord:
        p = self.path(key)
        read: dict = {}
        try:
            image = read_image(p, info=read)
        except ImageReadError as exc:
            raise FaceSkipped(key, exc.reason, f"{p}: {exc.detail}") from exc
        mask = None
        mp = self.mask_path(key)
        if mp.exists():
            try:
                mask = read_mask(mp)
            except ImageReadError as exc:
                raise FaceSkipped(key, "mask missing", f"{mp}: {exc.reason}, {exc.detail}") from exc
            if mask.shape != image.shape[:2]:
                raise FaceSkipped(key, "mask missing", f"{mp} is {mask.shape[1]}x{mask.shape[0]}, the photo is "
                                  f"{image.shape[1]}x{image.shape[0]}; a sidecar mask must match its photo")
        face = align_photo(image, self.size, key, mask=mask, estimator=self.estimator)
        return FaceRecord(
            face_id=key, image=face.image, skin=face.skin, landmarks=face.landmarks,
            identity=self.identity(key), source=self.name,
            provenance={"path": str(p), "original_size": [int(image.shape[1]), int(image.shape[0])],
                        "transform": face.transform.round(6).tolist(), "license": self.license,
                        **({"downscaled_from": read["downscaled_from"]} if "downscaled_from" in read else {}),
                        **({"mask_path": str(mp)} if mask is not None else {}), **face.notes},
            skin_source=face.skin_source,
        )
