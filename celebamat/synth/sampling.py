"""Sampling: every random choice of one composite, drawn from one generator into frozen params."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from celebamat.faces.record import FaceRecord
from celebamat.landmarks import EXIT_DIRECTIONS, face_anchors, face_frame
from celebamat.synth import camera, lighting
from celebamat.synth.config import NEAR_SUBTYPES, Chance, SynthConfig
from celebamat.synth.face_memo import face_memo
from celebamat.synth.hairline import hang_from_hairline, photo_hairline
from celebamat.synth.params import CompositeParams, OccluderParams
from celebamat.synth.placement import place_asset

#: At most this many hands on one face.
MAX_HANDS = 2

#: Thickness scale of each kind's normals for the face light, in inter-ocular distances (a finger's radius,
#: a held object's); 0 = the kind is not shaded (smoke, veils and nets take the light through them; normals from
#: the alpha of thin strands mean nothing, and hair takes the person's own hair colour instead).
SHADE_RADIUS = {"hand": 0.09, "hair": 0.0, "accessory": 0.14, "translucent": 0.0, "texture": 0.14}


def _photo_estimates(face: FaceRecord, frame: Any) -> tuple[tuple[float, float, float, float], float, float]:
    """What the realism step reads from the face photo: its light, its edge blur (px) and its grain (levels).

    A pure function of the face (``frame`` comes from its landmarks): read once per face object."""
    memo = face_memo(face)
    if "photo_estimates" not in memo:
        light = lighting.fit_face_light(face.image, face.skin, frame.center, frame.face_width, frame.face_height,
                                        frame.roll)
        blur = camera.edge_blur_sigma(face.image, camera.eye_box(face.landmarks, face.size))
        grain = camera.grain_sigma(face.image, face.skin, camera.cheek_box(face.landmarks, face.size))
        memo["photo_estimates"] = (light, blur, grain)
    return memo["photo_estimates"]


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


@dataclass
class _Scene:
    """What the occluders of one composite are placed on and lit by, read once per sample."""

    face: FaceRecord
    anchors: dict[str, np.ndarray]
    frame: Any
    scale_px: float  # the face's size over 512 px (blur lengths are given at 512 px)
    light_dir: np.ndarray
    obliquity: float
    photo_blur: float
    photo_grain: float
    hairline: Any = None  # the photo's hairline, read when the first fringe is placed

    def photo_hairline(self) -> Any:
        if self.hairline is None:
            self.hairline = photo_hairline(self.face.skin, self.face.landmarks[10].astype(np.float64),
                                           self.frame.down, self.frame.iod)
        return self.hairline


def _pick_and_place(rng: np.random.Generator, scene: _Scene, pools: dict[str, list], kinds: list[str],
                    weights: np.ndarray, occ_cfg: Any, used_groups: set[int], hands: int
                    ) -> tuple[str, Any, set[int], bool, np.ndarray] | None:
    """Draw an asset and place it on the face: ``(kind, asset, exclusive groups, mirrored, transform)``, or
    ``None`` when 8 tries found none that fits (an exclusive group taken, too many hands, no hair to hang a
    fringe from)."""
    for _attempt in range(8):
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        pool = pools[kind]
        asset = pool[int(rng.integers(len(pool)))]
        groups = {g for g, members in enumerate(occ_cfg.exclusive) if asset.subtype in members}
        if groups & used_groups or (kind == "hand" and hands >= MAX_HANDS):
            continue
        mirrored = bool(asset.mirror) and bool(rng.random() < occ_cfg.mirror)
        m = place_asset(rng, asset, scene.anchors, scene.frame, mirrored=mirrored, jitter=occ_cfg.jitter)
        if asset.subtype == "fringe" and asset.targets.get("hairline") == "hairline":
            hairline = scene.photo_hairline()
            roots = np.asarray(asset.anchors["hairline"], dtype=np.float64)
            m = hang_from_hairline(m, asset.size, roots, hairline, scene.frame.down)
            if m is None:  # no hair there for a fringe to hang from: another occluder instead
                continue
        return kind, asset, groups, mirrored, m
    return None


def _draw_occluder(rng: np.random.Generator, scene: _Scene, kind: str, asset: Any, m: np.ndarray, mirrored: bool,
                   config: SynthConfig) -> OccluderParams:
    """Draw the realism settings of one placed occluder (every draw happens, used or not, so the stream of
    the draws that follow never depends on which effects apply)."""
    occ_cfg, real, frame, scale_px = config.occluders, config.realism, scene.frame, scene.scale_px
    exits = any(t in EXIT_DIRECTIONS for t in asset.targets.values())
    tone = _draw(rng, real.tone_transfer) if kind == "hand" else 0.0
    if kind == "hair" and real.hair_recolor.probability > 0 and asset.tags.get("recolor") == "hair":
        tone = _draw(rng, real.hair_recolor)  # towards the face's hair colour (see render_layers)
    light = _draw(rng, real.light_match)
    if kind == "hand" and tone > 0:
        # A hand given the face's skin colour already has the scene's light: matching it again would darken
        # every hand in a dark photo below its face. (Drawn all the same: the stream stays as it was.)
        light = 0.0
    near = asset.subtype in NEAR_SUBTYPES or kind == "hand"
    shadow = _draw(rng, real.shadow) if near else 0.0
    off_len = float(rng.uniform(*real.shadow_offset)) * frame.iod
    # The shadow falls away from the face's light: straight down under a frontal light, sideways under an
    # oblique one.
    w = min(1.0, 2.0 * scene.obliquity)
    off_dir = (frame.down * 0.8 * (1.0 - w) - scene.light_dir * w * 0.8
               + frame.right * float(rng.uniform(-0.6, 0.6)) * (1.0 - 0.6 * w))
    if float(np.hypot(*off_dir)) < 1e-6:
        off_dir = frame.down
    off = off_dir / np.linalg.norm(off_dir) * off_len
    blur = float(rng.uniform(*real.shadow_blur)) * frame.iod
    defocus = _draw(rng, real.defocus) * scale_px
    motion = _draw(rng, real.motion_blur) * scale_px
    angle = float(rng.uniform(0.0, 180.0))
    opacity = float(rng.uniform(*occ_cfg.opacity))
    shade = _draw(rng, real.face_light) if SHADE_RADIUS.get(kind, 0.0) > 0 else 0.0
    skin_detail = _draw(rng, real.skin_detail) if kind == "hand" else 0.0
    skin_offset = (float(rng.integers(0, 1024)), float(rng.integers(0, 1024)))
    hair = _draw(rng, real.hair_colour) if kind == "hair" else 0.0
    if kind == "hair" and tone > 0:
        hair = 0.0  # recoloured by the recipe's hair_recolor already (drawn all the same: streams stay put)
    cam = camera.occluder_sigma(scene.photo_blur, _draw(rng, real.camera_match))
    grain = _draw(rng, real.grain) * scene.photo_grain
    grain = grain if grain >= 0.5 else 0.0  # below half a level it does not survive 8-bit rounding
    return OccluderParams(
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
        shade=shade,
        shade_radius=SHADE_RADIUS.get(kind, 0.0) * frame.iod if shade > 0 else 0.0,
        skin_detail=skin_detail,
        skin_offset=skin_offset if skin_detail > 0 else (0.0, 0.0),
        hair_colour=hair,
        camera_sigma=cam,
        grain=grain,
    )


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
    sh_light, photo_blur, photo_grain = _photo_estimates(face, frame) if n else ((0.0, 0.0, 0.0, 0.0), 0.0, 0.0)
    light_dir, obliquity = lighting.light_direction_2d(sh_light)
    scene = _Scene(face, anchors, frame, size / 512.0, light_dir, obliquity, photo_blur, photo_grain)
    for j in range(n):
        picked = _pick_and_place(rng, scene, pools, kinds, weights, occ_cfg, used_groups, hands)
        if picked is None:
            continue
        kind, asset, groups, mirrored, m = picked
        used_groups |= groups
        hands += kind == "hand"
        chosen.append((j, _draw_occluder(rng, scene, kind, asset, m, mirrored, config)))
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
        light=sh_light if any(op.shade > 0 for _, op in chosen) else (0.0, 0.0, 0.0, 0.0),
    )
