"""The face record every face source yields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


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
    """

    face_id: str
    image: np.ndarray
    skin: np.ndarray
    landmarks: np.ndarray
    identity: str | None
    source: str
    provenance: dict[str, Any] = field(default_factory=dict)
    skin_source: str = ""

    @property
    def size(self) -> int:
        return int(self.image.shape[0])
