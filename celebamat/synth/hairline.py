"""Fringes that hang from the person's own hairline.

A fringe asset is placed on the face-mesh's typical hairline (``celebamat.landmarks.face_anchors``). On a high
forehead the real hairline is higher, and the fringe would float on bare skin with its top edge showing: a
block, not hair. The skin matte ends where the hair begins, so the photo's hairline is read from it and the
placed fringe is stretched down the face's axis, its tips kept where they are, until its roots reach that
hairline. Where that needs more than :data:`MAX_FRINGE_STRETCH` (a bald head, a far receding hairline) no
fringe could hang there and the asset is not used on that face. Nothing here is random: the result follows
from the face and the placed transform, and is recorded as part of that transform.
"""

from __future__ import annotations

import numpy as np

from celebamat.synth.placement import apply, compose

#: The longest a fringe may be stretched (its roots-to-tips length over the placed one).
MAX_FRINGE_STRETCH = 1.6
#: Where the hairline is read: columns across the forehead's middle, in inter-ocular distances either side.
_BAND = 0.15
#: How far above the mesh's forehead top the hairline is looked for, in inter-ocular distances.
_REACH = 1.5


def photo_hairline(skin: np.ndarray, top: np.ndarray, down: np.ndarray, iod: float) -> np.ndarray:
    """Where the skin ends above the forehead: the hairline seen in the photo.

    Args:
        skin: ``(S, S)`` float skin matte in [0, 1].
        top: ``(2,)`` the mesh's forehead top (mesh point 10), pixels.
        down: ``(2,)`` unit vector from forehead to chin.
        iod: inter-ocular distance, pixels.

    Returns:
        ``(2,)`` pixel point on the forehead's axis: the median, over five columns across the forehead's middle,
        of the first point above ``top`` off the skin (matte < 0.5). ``top`` itself where the skin already ends
        below it (a fringe or a hat in the photo); the image border where the skin runs off the image.
    """
    h, w = skin.shape
    right = np.array([-down[1], down[0]])
    steps = np.arange(0.0, _REACH * iod, 1.0)
    reach = []
    for off in np.linspace(-_BAND, _BAND, 5) * iod:
        pts = top[None] + right[None] * off - down[None] * steps[:, None]
        xs, ys = np.round(pts[:, 0]).astype(int), np.round(pts[:, 1]).astype(int)
        inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
        n_in = int(np.argmin(inside)) if not inside.all() else len(steps)
        off_skin = skin[ys[:n_in], xs[:n_in]] < 0.5
        reach.append(steps[int(np.argmax(off_skin))] if off_skin.any() else steps[max(0, n_in - 1)])
    return top - down * float(np.median(reach))


def hang_from_hairline(
    m: np.ndarray, asset_size: tuple[int, int], roots: np.ndarray, hairline: np.ndarray, down: np.ndarray
) -> np.ndarray | None:
    """Stretch a placed fringe down the face's axis until its roots reach ``hairline``.

    Args:
        m: ``(2, 3)`` placed transform from the (unmirrored) asset's pixels to the image.
        asset_size: the asset's ``(width, height)``; its tips are along its bottom edge.
        roots: ``(2,)`` the asset's hairline anchor, asset pixels.
        hairline: ``(2,)`` the photo's hairline (:func:`photo_hairline`), image pixels.
        down: ``(2,)`` unit vector from forehead to chin.

    Returns:
        The stretched ``(2, 3)`` transform (``m`` itself when the roots are at or above the hairline already),
        or ``None`` when the stretch would exceed :data:`MAX_FRINGE_STRETCH`.
    """
    w, h = asset_size
    tips = apply(m, np.array([[w / 2.0, float(h)]]))[0]
    placed = float(np.dot(tips - apply(m, roots[None])[0], down))
    wanted = float(np.dot(tips - hairline, down))
    if placed <= 0 or wanted <= placed:
        return m
    k = wanted / placed
    if k > MAX_FRINGE_STRETCH:
        return None
    # x -> x + (k - 1) ((x - tips) . down) down: lengthens along the axis about the tips, keeps the width.
    lin = np.eye(2) + (k - 1.0) * np.outer(down, down)
    stretch = np.concatenate([lin, (tips - lin @ tips)[:, None]], axis=1)
    return compose(stretch, m)
