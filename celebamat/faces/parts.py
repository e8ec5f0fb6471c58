"""CelebAMask-HQ's face parts and the order its label maps are painted in: the one copy both packages use
(``celebamat.faces.skin`` for the skin of a build's faces, ``facemat.benchmarks`` for the visible-face ground
truth of the real-photo benchmark).

A later part covers an earlier one. In the dataset's own order the eyes and brows are painted after the
eyeglasses, so an eye seen through a clear lens stays visible (the skin definition of ``docs/faces.md``);
:func:`painting_order` with ``on_top=("eye_g",)`` paints the glasses over every face part instead, the
benchmark's rule that an occluder is never face.
"""

from __future__ import annotations

from collections.abc import Iterable

#: CelebAMask-HQ part names in the order the dataset paints them (a later part covers an earlier one).
CELEBAMASK_PARTS = (
    "skin", "nose", "eye_g", "l_eye", "r_eye", "l_brow", "r_brow", "l_ear", "r_ear",
    "mouth", "u_lip", "l_lip", "hair", "hat", "ear_r", "neck_l", "neck", "cloth",
)

#: The parts that are face: skin, nose, eyes, brows, mouth and lips (not ears, hair, glasses, neck...).
FACE_PARTS = frozenset({"skin", "nose", "l_eye", "r_eye", "l_brow", "r_brow", "mouth", "u_lip", "l_lip"})


def painting_order(on_top: Iterable[str] = ()) -> tuple[str, ...]:
    """:data:`CELEBAMASK_PARTS` with the parts ``on_top`` painted right after the last face part, so that they
    cover every face part; the other parts keep the dataset's order."""
    lifted = tuple(p for p in CELEBAMASK_PARTS if p in set(on_top))
    rest = [p for p in CELEBAMASK_PARTS if p not in lifted]
    last_face = max(i for i, p in enumerate(rest) if p in FACE_PARTS)
    return tuple(rest[: last_face + 1]) + lifted + tuple(rest[last_face + 1:])
