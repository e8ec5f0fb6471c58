"""Values computed once per face object: what composites read from a face photo (its light, blur, grain, skin and
hair colour, skin detail) is the same for every composite on that face."""

from __future__ import annotations

import weakref
from typing import Any

#: id(face) -> (weak reference to the face, its memo). The weak reference tells a live face from a reused id.
_MEMO: dict[int, tuple[weakref.ref, dict[str, Any]]] = {}


def face_memo(face: Any) -> dict[str, Any]:
    """The memo of ``face`` (a ``FaceRecord``): an empty dict on first use, dropped when the face is.

    Only pure functions of the face may be stored in it: a face is frozen, and a build's face cache hands the
    same object to every row that uses that face, so a row rendered from the memo equals one rendered without."""
    hit = _MEMO.get(id(face))
    if hit is not None and hit[0]() is face:
        return hit[1]
    memo: dict[str, Any] = {}
    _MEMO[id(face)] = (weakref.ref(face), memo)
    weakref.finalize(face, _MEMO.pop, id(face), None)
    return memo
