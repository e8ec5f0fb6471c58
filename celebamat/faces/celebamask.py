"""``celebamask-hq:ROOT``: CelebAMask-HQ as distributed, with the skin matte painted from its part masks.

Layout under ROOT::

    CelebA-HQ-img/<n>.jpg                                   1024 x 1024, n = 0..29999
    CelebAMask-HQ-mask-anno/<n // 2000>/<nnnnn>_<part>.png  512 x 512, 0/255; absent where the part is absent
    CelebA-HQ-to-CelebA-mapping.txt                         optional: HQ index -> original CelebA file
    identity_CelebA.txt                                     optional (from CelebA): CelebA file -> identity

The images are already aligned (CelebA-HQ alignment): they are only resized (area filter).
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from celebamat.errors import CelebAMatError, FaceSkipped
from celebamat.faces.base import FaceSource
from celebamat.faces.io import ImageReadError, read_image, read_mask_u8
from celebamat.faces.record import FaceRecord
from celebamat.faces.skin import (
    CELEBAMASK_PARTS,
    DEFAULT_OCCLUSION_PARTS,
    DEFAULT_SKIN_PARTS,
    labels_to_mask,
    occluded_fraction,
    paint_parts,
    resolve_parts,
)
from celebamat.landmarks import get_landmarker

IMAGE_DIR = "CelebA-HQ-img"
MASK_DIR = "CelebAMask-HQ-mask-anno"
MAPPING_FILE = "CelebA-HQ-to-CelebA-mapping.txt"
IDENTITY_FILE = "identity_CelebA.txt"

CELEBAMASK_LICENSE = (
    "CelebAMask-HQ / CelebA-HQ: non-commercial research purposes only; no redistribution of any portion of "
    "the images or of data derived from them (see https://github.com/switchablenorms/CelebAMask-HQ). "
    "Data built from it must stay private."
)

_KEY = re.compile(r"^celebamask-hq:(\d{5})$")




class CelebAMaskHQSource(FaceSource):
    """CelebAMask-HQ faces; keys ``celebamask-hq:<nnnnn>``.

    Args:
        root: dataset root (the folder holding ``CelebA-HQ-img`` and ``CelebAMask-HQ-mask-anno``).
        skin_parts: parts (or groups ``eyes``, ``brows``, ``lips``) that make up the skin matte; default
            :data:`celebamat.faces.skin.DEFAULT_SKIN_PARTS`. Parts are painted in the dataset's order first,
            so hair, hat and eyeglasses cover skin where the dataset says they do.
        occlusion_filter: skip faces whose ``occlusion_parts`` cover more than this fraction of the face
            (reason ``"already occluded"``); ``None`` keeps every face.
        occlusion_parts: default eyeglasses and hat.
    """

    name = "celebamask-hq"
    license = CELEBAMASK_LICENSE
    light_check = True

    def __init__(
        self,
        spec: str,
        root: Path,
        size: int = 512,
        skin_parts=DEFAULT_SKIN_PARTS,
        occlusion_filter: float | None = None,
        occlusion_parts=DEFAULT_OCCLUSION_PARTS,
    ) -> None:
        super().__init__(spec, size)
        self.root = root
        expected = f"{IMAGE_DIR}/<n>.jpg and {MASK_DIR}/<n // 2000>/<nnnnn>_<part>.png"
        if not root.is_dir():
            raise CelebAMatError(f"celebamask-hq root {root} does not exist; expected the CelebAMask-HQ folder "
                                 f"holding {expected}")
        for d in (IMAGE_DIR, MASK_DIR):
            if not (root / d).is_dir():
                raise CelebAMatError(f"celebamask-hq root {root} has no {d}/ folder; expected {expected} "
                                     "(point ROOT at the unpacked CelebAMask-HQ folder)")
        try:
            self.skin_parts = resolve_parts(skin_parts, "skin_parts")
            self.occlusion_parts = resolve_parts(occlusion_parts, "occlusion_parts")
        except ValueError as exc:
            raise CelebAMatError(str(exc)) from None
        if occlusion_filter is not None and not 0.0 <= float(occlusion_filter) <= 1.0:
            raise CelebAMatError(f"occlusion_filter must be a fraction in [0, 1] or None, got {occlusion_filter!r}")
        self.occlusion_filter = None if occlusion_filter is None else float(occlusion_filter)
        self._keys: list[str] | None = None
        self._identities: dict[int, str] | None = None
        self._listings: dict[str, set[str]] = {}
        self.identity_note = ""

    # -- keys and identities ------------------------------------------------------------------------
    def keys(self) -> list[str]:
        if self._keys is None:
            idx = []
            for p in (self.root / IMAGE_DIR).iterdir():
                if p.suffix.lower() == ".jpg" and p.stem.isdigit():
                    idx.append(int(p.stem))
            self._keys = [f"celebamask-hq:{n:05d}" for n in sorted(idx)]
        return self._keys

    def signature(self) -> str:
        """The photo listing plus the size and modification time of the photo folder, every mask folder and
        the identity files: adding, removing or renaming a file changes its folder's modification time."""
        import hashlib

        from celebamat.faces.base import files_signature

        self._keys = None
        self._listings.clear()
        mask_root = self.root / MASK_DIR
        dirs = [self.root / IMAGE_DIR, *(sorted(mask_root.iterdir()) if mask_root.is_dir() else [])]
        extra = [p for p in (self.root / MAPPING_FILE, self.root / IDENTITY_FILE) if p.exists()]
        keys = hashlib.sha256("\n".join(self.keys()).encode()).hexdigest()
        return hashlib.sha256((keys + files_signature(dirs + extra, self.root)).encode()).hexdigest()

    def index(self, key: str) -> int:
        m = _KEY.match(key)
        if not m:
            raise KeyError(f"not a celebamask-hq key: {key!r} (expected celebamask-hq:<nnnnn>)")
        return int(m.group(1))

    def _load_identities(self) -> dict[int, str]:
        if self._identities is not None:
            return self._identities
        ids: dict[int, str] = {}
        mapping, ident = self.root / MAPPING_FILE, self.root / IDENTITY_FILE
        if not mapping.exists() or not ident.exists():
            missing = MAPPING_FILE if not mapping.exists() else IDENTITY_FILE
            self.identity_note = (f"{self.root / missing} not found: CelebA identities unknown, each image is its own "
                                  "identity (identity-disjoint splits are then per image). Put CelebA's "
                                  f"{IDENTITY_FILE} and {MAPPING_FILE} in the root to use real identities.")
            warnings.warn(self.identity_note, UserWarning, stacklevel=3)
            self._identities = ids
            return ids
        person: dict[str, str] = {}
        for line in ident.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2:
                person[parts[0]] = parts[1]
        for line in mapping.read_text().splitlines():
            parts = line.split()
            # Columns: idx orig_idx orig_file (a header line first).
            if len(parts) >= 3 and parts[0].isdigit() and parts[2] in person:
                ids[int(parts[0])] = "celeba:" + person[parts[2]]
        if not ids:
            self.identity_note = f"{mapping} and {ident} matched no image; each image is its own identity"
            warnings.warn(self.identity_note, UserWarning, stacklevel=3)
        self._identities = ids
        return ids

    def identity(self, key: str) -> str | None:
        n = self.index(key)
        return self._load_identities().get(n, f"celebahq:{n:05d}")

    # -- loading ----------------------------------------------------------------------------------------
    def part_paths(self, n: int) -> dict[str, Path]:
        folder, names = self._part_names(n)
        return {p: Path(folder, name) for p, name in names}

    def _part_names(self, n: int) -> tuple[str, tuple[tuple[str, str], ...]]:
        """The mask folder of image ``n`` and ``(part, file name)`` pairs: strings, as pathlib is slow here."""
        folder = os.path.join(self.root, MASK_DIR, str(n // 2000))
        return folder, tuple((p, f"{n:05d}_{p}.png") for p in CELEBAMASK_PARTS)

    def _present(self, folder: str, name: str) -> bool:
        """Whether a mask file exists, from one listing per mask folder and source object (19 stat calls per
        face add up)."""
        names = self._listings.get(folder)
        if names is None:
            names = self._listings[folder] = set(os.listdir(folder)) if os.path.isdir(folder) else set()
        return name in names

    def labels(self, key: str) -> np.ndarray:
        """The painted ``(512, 512)`` uint8 label map of a face (see :func:`celebamat.faces.skin.paint_parts`)."""
        return self._parts(key)[0]

    def _parts(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Painted label map and the raw ``skin`` part mask."""
        n = self.index(key)
        folder, names = self._part_names(n)
        skin_name = dict(names)["skin"]
        if not self._present(folder, skin_name):
            raise FaceSkipped(key, "mask missing",
                              f"{os.path.join(folder, skin_name)} not found: no complete skin annotation")
        masks = {}
        for part, name in names:
            if self._present(folder, name):
                p = os.path.join(folder, name)
                try:
                    masks[part] = read_mask_u8(p) > 127  # > 0.5 of full scale
                except ImageReadError as exc:
                    raise FaceSkipped(key, "mask missing", f"{p}: {exc.reason}, {exc.detail}") from exc
        shape = masks["skin"].shape
        bad = [p for p, m in masks.items() if m.shape != shape]
        if bad:
            raise FaceSkipped(key, "mask missing", f"part masks {bad} differ in size from {skin_name}")
        return paint_parts(masks), masks["skin"]

    def _filtered_parts(self, key: str) -> tuple[np.ndarray, np.ndarray, float]:
        """:meth:`_parts` plus the occluded fraction; raises ``FaceSkipped`` for a face the filter refuses."""
        labels, raw_skin = self._parts(key)
        occ = occluded_fraction(labels, self.skin_parts, self.occlusion_parts, face=raw_skin)
        if self.occlusion_filter is not None and occ > self.occlusion_filter:
            raise FaceSkipped(key, "already occluded", f"{', '.join(self.occlusion_parts)} cover {occ:.1%} of the "
                              f"face (threshold {self.occlusion_filter:.1%})")
        return labels, raw_skin, occ

    def check(self, key: str) -> str | None:
        """Vet a face for the build plan without decoding its photo or meshing it.

        Checks what decides which faces a split gets: the skin mask's presence, the occlusion filter and the
        photo's presence. The part masks are decoded only when the filter is on and the face has a mask of an
        occlusion part (glasses, hat): without one nothing of the face is occluded, whatever the other parts
        hold, so the filter passes it (most faces; the row decodes their masks once, not twice). A photo or
        mask that later fails to decode, or a photo in which the mesh finds no face, is replaced by the build
        with another face of its split and reported; on CelebAMask-HQ that is rare, and checking it here would
        cost a second full pass over every face.
        """
        n = self.index(key)
        folder, names = self._part_names(n)
        if not self._present(folder, f"{n:05d}_skin.png"):
            self._parts(key)  # raises the same "mask missing" as load
        if self.occlusion_filter is not None and any(
            self._present(folder, name) for part, name in names if part in self.occlusion_parts
        ):
            self._filtered_parts(key)
        path = self.root / IMAGE_DIR / f"{n}.jpg"
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise FaceSkipped(key, "unreadable file", f"{path}: cannot access: {exc.strerror or exc}") from exc
        if size == 0:
            raise FaceSkipped(key, "empty file", f"{path}: the file has 0 bytes")
        return self.identity(key)

    def load(self, key: str) -> FaceRecord:
        n = self.index(key)
        labels, raw_skin, occ = self._filtered_parts(key)
        path = self.root / IMAGE_DIR / f"{n}.jpg"
        info: dict[str, Any] = {}
        try:
            image = read_image(path, info=info)
        except ImageReadError as exc:
            raise FaceSkipped(key, exc.reason, f"{path}: {exc.detail}") from exc
        s = self.size
        encoded = None
        if image.shape[:2] == (s, s):
            img = image
            if info.get("verbatim"):
                encoded = path.read_bytes()
        else:
            img = cv2.resize(image, (s, s), interpolation=cv2.INTER_AREA if image.shape[0] >= s else cv2.INTER_CUBIC)
        skin = labels_to_mask(labels, self.skin_parts).astype(np.float32)
        if skin.shape != (s, s):  # resampling keeps it in [0, 1]
            skin = cv2.resize(skin, (s, s), interpolation=cv2.INTER_AREA if labels.shape[0] >= s else cv2.INTER_LINEAR)
        faces = _mesh(img)
        if not faces:
            raise FaceSkipped(key, "no face", f"{path}: the face mesh found no face in the aligned image")
        return FaceRecord(
            face_id=key, image=np.ascontiguousarray(img), skin=skin,
            landmarks=faces[0].astype(np.float32), identity=self.identity(key), source=self.name,
            provenance={"path": str(path), "original_size": [int(image.shape[1]), int(image.shape[0])],
                        "mask_dir": self._part_names(n)[0], "skin_parts": list(self.skin_parts),
                        "occluded_fraction": round(occ, 4), "transform": [[s / image.shape[1], 0, 0],
                                                                          [0, s / image.shape[0], 0]],
                        "license": CELEBAMASK_LICENSE},
            skin_source="annotation:celebamask-hq", encoded=encoded,
        )


#: Side of the copy the face mesh reads a larger aligned face from (the mesh itself works on a 192 px crop).
MESH_READ_SIDE = 512


def _mesh(image: np.ndarray) -> list[np.ndarray]:
    """Face-mesh landmarks of an aligned face, read from an area-averaged copy of at most
    :data:`MESH_READ_SIDE` px and scaled back: a 1024 px build gets the landmarks of a 512 px one, times two,
    for a quarter of the pixels handed to the mesh."""
    s = image.shape[0]
    if s <= MESH_READ_SIDE:
        return get_landmarker().mesh(image)
    small = cv2.resize(image, (MESH_READ_SIDE, MESH_READ_SIDE), interpolation=cv2.INTER_AREA)
    # the mesh's coordinates are fractions of the image's side times the side: scaling them is exact
    f = np.float32(s / MESH_READ_SIDE)
    return [pts * f for pts in get_landmarker().mesh(small)]

