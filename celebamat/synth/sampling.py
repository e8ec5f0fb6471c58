"""Sampling: every random choice of one composite, drawn from one generator into frozen params."""

from __future__ import annotations

from typing import Any

import numpy as np

from celebamat.faces.record import FaceRecord
from celebamat.landmarks import EXIT_DIRECTIONS, face_anchors, face_frame
from celebamat.synth.config import NEAR_SUBTYPES, Chance, SynthConfig
from celebamat.synth.params import CompositeParams, OccluderParams
from celebamat.synth.placement import place_asset

#: At most this many hands on one face.
MAX_HANDS = 2


def sample_seed(root_seed: int, index: int) -> int:
    """The 63-bit seed of sample ``index``: the first word of ``SeedSequence([root_seed, index])``."""
    word = np.random.SeedSequence([int(root_seed), int(index)]).generate_state(1, dtype=np.uint64)[0]
    return int(word >> np.uint64(1))


def sample_rng(root_seed: int, index: int) -> np.random.Generator:
    """The generator every random choice of sample ``index`` is drawn from."""
    return np.random.default_rng(np.random.SeedSequence([int(root_seed), int(index)]))


def _draw(rng: np.random.Generator, chance: Chance) -> float:
    """Strength of an effect: 0 when it does not happen, else uniform in its range (always two draws)."""
    happens = rng.random() < chance.probability
    value = float(rng.uniform(*chance.range))
    return value if happens else 0.0


def asset_split_for(split: str, config: SynthConfig) -> str:
    """Which asset split (``train`` or ``test``) the rows of ``split`` draw from."""
    return "test" if split in config.occluders.test_asset_splits else "train"


def sample_params(
    rng: np.random.Generator,
    face: FaceRecord,
    library: Any,
    config: SynthConfig,
    *,
    split: str,
    seed: int,
) -> CompositeParams:
    """Draw the params of one composite.

    Args:
        rng: the sample's generator (:func:`sample_rng`); nothing else is random.
        face: the clean face.
        library: an ``OccluderLibrary`` (``by_kind(kind, split)``).
        config: the recipe's synthesis settings.
        split: the row's split; test rows use test assets only, the others train assets only.
        seed: the sample's seed (:func:`sample_seed`), recorded in the params.

    Returns:
        Frozen :class:`CompositeParams`; occluders sorted bottom to top.
    """
    occ_cfg, real = config.occluders, config.realism
    asset_split = asset_split_for(split, config)
    anchors = face_anchors(face.landmarks)
    frame = face_frame(face.landmarks, anchors)
    size = face.size

    pools = {k: library.by_kind(k, asset_split) for k in occ_cfg.kinds}
    kinds = [k for k, w in occ_cfg.kinds.items() if w > 0 and pools[k]]
    weights = np.array([occ_cfg.kinds[k] for k in kinds], dtype=np.float64)
    n = int(rng.choice(len(occ_cfg.count), p=np.asarray(occ_cfg.count)))
    if not kinds:
        n = 0
    used_groups: set[int] = set()
    hands = 0
    chosen: list[tuple[int, OccluderParams]] = []
    scale_px = size / 512.0
    for j in range(n):
        for _attempt in range(8):
            kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
            pool = pools[kind]
            asset = pool[int(rng.integers(len(pool)))]
            groups = {g for g, members in enumerate(occ_cfg.exclusive) if asset.subtype in members}
            if groups & used_groups or (kind == "hand" and hands >= MAX_HANDS):
                continue
            break
        else:
            continue
        used_groups |= groups
        hands += kind == "hand"
        mirrored = bool(asset.mirror) and bool(rng.random() < occ_cfg.mirror)
        m = place_asset(rng, asset, anchors, frame, mirrored=mirrored, jitter=occ_cfg.jitter)
        exits = any(t in EXIT_DIRECTIONS for t in asset.targets.values())
        tone = _draw(rng, real.tone_transfer) if kind == "hand" else 0.0
        if kind == "hair" and real.hair_recolor.probability > 0 and asset.tags.get("recolor") == "hair":
            tone = _draw(rng, real.hair_recolor)  # towards the face's hair colour (see render_layers)
        light = _draw(rng, real.light_match)
        near = asset.subtype in NEAR_SUBTYPES or kind == "hand"
        shadow = _draw(rng, real.shadow) if near else 0.0
        off_len = float(rng.uniform(*real.shadow_offset)) * frame.iod
        off_dir = frame.down * 0.8 + frame.right * float(rng.uniform(-0.6, 0.6))
        off = off_dir / np.linalg.norm(off_dir) * off_len
        blur = float(rng.uniform(*real.shadow_blur)) * frame.iod
        defocus = _draw(rng, real.defocus) * scale_px
        motion = _draw(rng, real.motion_blur) * scale_px
        angle = float(rng.uniform(0.0, 180.0))
        opacity = float(rng.uniform(*occ_cfg.opacity))
        chosen.append(
            (
                j,
                OccluderParams(
                    asset_id=asset.id,
                    kind=kind,
                    subtype=asset.subtype,
                    transform=tuple(float(v) for v in m.reshape(-1)),
                    mirrored=mirrored,
                    extend=(asset.exit_edge or "") if exits else "",
                    opacity=opacity,
                    depth=int(asset.layer),
                    tone_transfer=tone,
                    light_match=light,
                    shadow_opacity=shadow,
                    shadow_offset=(float(off[0]), float(off[1])),
                    shadow_blur=blur if shadow > 0 else 0.0,
                    defocus_sigma=defocus,
                    motion_blur=motion,
                    motion_angle=angle if motion > 0 else 0.0,
                ),
            )
        )
    chosen.sort(key=lambda t: (t[1].depth, t[0]))
    noise = _draw(rng, real.noise)
    jpeg = int(round(_draw(rng, real.jpeg)))
    return CompositeParams(
        seed=int(seed),
        face_id=face.face_id,
        size=size,
        occluders=tuple(op for _, op in chosen),
        noise_sigma=noise,
        jpeg_quality=jpeg,
    )
