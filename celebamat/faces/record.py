"""The face record every face source yields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from celebamat.errors import FaceSkipped

#: A face whose skin matte covers less than this share of the aligned image gives no usable sample
#: (``celebamat verify`` rejects an empty skin matte; a near-empty one is a sidecar or estimate gone wrong).
MIN_SKIN_FRACTION = 0.02


@dataclass(frozen=True)
class FaceRecord:
    """An aligned face with its skin matte (annotated or estimated, see ``skin_source``) and landmarks.

    Attributes:
        face_id: stable id, unique within the source (for example ``celebamask-hq:00042``).
        image: ``(S, S, 3)`` uint8 RGB, aligned (face centred, scale and roll normalised).
        skin: ``(S, S)`` float32 in [0, 1]: visible face skin before any synthetic occlusion
            (skin, brows, eyes, nose, mouth, lips; see ``celebamat.faces.skin``).
        landmarks: ``(478, 2)`` float32 pixel coordinates in ``image``.
        identity: person id where the source knows it (for identity-disjoint splits), else ``None``.
        source: source kind: ``demo``, ``folder`` or ``celebamask-hq``.
        provenance: JSON-serialisable facts: original path, original size, alignment transform, licence.
        skin_source: what made ``skin``: ``annotation:<source>`` (true masks: CelebAMask-HQ parts, a
            sidecar mask) or ``estimate:<estimator>`` (see :mod:`celebamat.faces.estimators`).
        encoded: the source file's JPEG bytes when ``image`` is exactly their decoding (a photo already at the
            build's size: CelebAMask-HQ at 1024 px), else ``None``; a JPEG build stores them as the clean
            image instead of compressing the pixels a second time.
    """

    face_id: str
    image: np.ndarray
    skin: np.ndarray
    landmarks: np.ndarray
    identity: str | None
    source: str
    provenance: dict[str, Any] = field(default_factory=dict)
    skin_source: str = ""
    encoded: bytes | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return int(self.image.shape[0])


def vet_skin(record: FaceRecord) -> FaceRecord:
    """Return ``record`` if its skin matte can carry a sample, else raise ``FaceSkipped(..., "no skin")``.

    The skin must reach full strength somewhere (max >= 0.5) and cover at least :data:`MIN_SKIN_FRACTION`
    of the image (summed matte). Every face a build or a preview uses passes through here, so a build
    never writes a row whose skin matte ``celebamat verify`` would call empty.
    """
    skin = np.asarray(record.skin)
    share = float(skin.sum(dtype=np.float64)) / max(skin.size, 1)  # no float64 copy of a frame
    if float(skin.max(initial=0.0)) < 0.5 or share < MIN_SKIN_FRACTION:
        origin = record.provenance.get("mask_path") or record.provenance.get("skin") or record.source
        raise FaceSkipped(record.face_id, "no skin",
                          f"the skin matte covers {share:.1%} of the face (at least {MIN_SKIN_FRACTION:.0%} needed; "
                          f"skin from {origin}); fix or remove the mask, or drop the photo")
    return record
