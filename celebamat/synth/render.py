"""Rendering: a pure function of (face, assets, params) to a composite and its exact ground truth.

For occluders ``i = 1..n`` (bottom to top) with warped alphas ``a_i`` and premultiplied colours ``c_i``::

    canvas_0 = clean face
    canvas_i = c_i + (1 - a_i) * (canvas_{i-1} * (1 - shadow_i))
    alpha          = skin * prod_i (1 - a_i)
    occluder_alpha = 1 - prod_i (1 - a_i)

computed in float32 and quantised once (255 = skin). Shadows darken the layers below but never change a matte.
Blur of an occluder is applied to its colour and alpha alike, so image and matte cannot disagree. Sensor noise
and JPEG touch only the final image.

Each occluder is taken from the box of its asset's visible pixels (``OccluderAsset.visible_box``). Per
occluder, in order: colour towards the face (skin tone for hands, the person's hair colour for hair), the
scene's white balance, warping into the image, for hands the exposure of the skin they lie on (with the
strength of the tone transfer), the face's fitted light on normals from the alpha
(:mod:`celebamat.synth.lighting`), the face's own skin detail over hands (:mod:`celebamat.synth.skin_texture`),
the photo's softness and any defocus or motion blur (colour and alpha alike), the photo's grain (colour only).
None of these steps reads or writes the alpha except the blur, so the mattes stay exact.
"""

from __future__ import annotations

import math
from dataclasses import InitVar, dataclass
from functools import cached_property
from typing import Any, Callable, Mapping

import cv2
import numpy as np

from celebamat.faces.record import FaceRecord
from celebamat.landmarks import face_anchors, face_frame
from celebamat.synth import camera, hair_colour, lighting, realism, skin_texture
from celebamat.synth.face_memo import face_memo
from celebamat.synth.params import CompositeParams, OccluderParams
from celebamat.synth.extend import extend_limb
from celebamat.synth.placement import compose


Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Layer:
    """One warped occluder, stored on its bounding box ``box = (x0, y0, x1, y1)`` in the image.

    ``color_roi`` is premultiplied ``(y1-y0, x1-x0, 3)`` and ``alpha_roi`` ``(y1-y0, x1-x0)``, float32 in
    [0, 1]; ``shadow_roi`` (darkening, on ``shadow_box``) is ``None`` without a shadow. The full-frame
    properties exist for inspection and tests; rendering works on the boxes.
    """

    size: int
    box: tuple[int, int, int, int]
    color_roi: np.ndarray
    alpha_roi: np.ndarray
    shadow_box: tuple[int, int, int, int] | None = None
    shadow_roi: np.ndarray | None = None

    def _full(self, roi: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        out = np.zeros((self.size, self.size) + roi.shape[2:], dtype=np.float32)
        x0, y0, x1, y1 = box
        out[y0:y1, x0:x1] = roi
        return out

    @property
    def alpha(self) -> np.ndarray:
        return self._full(self.alpha_roi, self.box)

    @property
    def color(self) -> np.ndarray:
        return self._full(self.color_roi, self.box)

    @property
    def shadow(self) -> np.ndarray | None:
        return None if self.shadow_roi is None else self._full(self.shadow_roi, self.shadow_box)


@dataclass(frozen=True)
class Sample:
    """A rendered sample. Images uint8 RGB ``(S, S, 3)``; mattes uint8 ``(S, S)`` with 255 = full.

    ``image_jpeg`` holds the JPEG bytes ``image`` was decoded from when the params compress the final image
    (``jpeg_quality > 0``): a JPEG dataset stores them as they are instead of compressing a second time.
    """

    pixels: InitVar[np.ndarray | None]
    alpha: np.ndarray
    skin: np.ndarray
    occluder_alpha: np.ndarray
    clean: np.ndarray
    image_jpeg: bytes | None = None

    def __post_init__(self, pixels: np.ndarray | None) -> None:
        if pixels is not None:
            self.__dict__["image"] = pixels

    @cached_property
    def image(self) -> np.ndarray:
        """The composite; decoded from ``image_jpeg`` on first use (a JPEG dataset stores the bytes alone)."""
        return realism.decode_jpeg(self.image_jpeg)


def quantize(x: np.ndarray) -> np.ndarray:
    """Float matte in [0, 1] to uint8 with 255 = 1 (round half to even, the one quantisation step)."""
    return _quantize_in_place(np.clip(x, 0.0, 1.0))


def _quantize_in_place(x: np.ndarray) -> np.ndarray:
    """:func:`quantize` of a float array the caller gives up (clipped, scaled and rounded in place: the same
    values without three frame-sized temporaries)."""
    np.clip(x, 0.0, 1.0, out=x)
    if x.dtype == np.float32:  # OpenCV's one pass: rint(255 x) in float32, the same values
        return cv2.convertScaleAbs(x, alpha=255.0)
    x *= 255.0
    return np.rint(x, out=x).astype(np.uint8)


#: ``k / 255`` in float32 for every 8-bit value ``k``: :func:`to_float` reads it instead of dividing.
_TO_FLOAT = np.arange(256, dtype=np.float32) / 255.0


#: ``k * float32(1 / 255)`` for every 8-bit value ``k``, as assets have always been scaled (a product, not a quotient).
_ASSET_FLOAT = np.multiply(np.arange(256, dtype=np.uint8), np.float32(1.0 / 255.0), dtype=np.float32)


def to_float(image: np.ndarray) -> np.ndarray:
    """uint8 image to float32 in [0, 1], exactly ``image.astype(np.float32) / 255.0`` (one table look-up per
    value, a single OpenCV pass)."""
    return cv2.LUT(image, _TO_FLOAT)


def _per_channel(x: np.ndarray) -> np.ndarray:
    """``(h, w)`` to ``(h, w, 3)``: OpenCV's element-wise ops on that are many times faster than NumPy's
    broadcasting of ``x[..., None]`` over colour channels, with the same IEEE results."""
    return cv2.merge([x, x, x])


to_uint8 = realism.to_uint8  # float32 in [0, 1] to uint8, rint(255 x)


def _bbox(m: np.ndarray, w: int, h: int, margin: float, size: int) -> tuple[int, int, int, int]:
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=np.float64) @ m[:, :2].T + m[:, 2]
    x0, y0 = np.floor(corners.min(0) - margin).astype(int)
    x1, y1 = np.ceil(corners.max(0) + margin).astype(int)
    return max(0, x0), max(0, y0), min(size, x1), min(size, y1)


def warp_occluder(rgba: np.ndarray, op: OccluderParams, size: int) -> tuple[tuple[int, int, int, int], np.ndarray,
                                                                            np.ndarray]:
    """Warp a straight-alpha float RGBA asset into the image, in premultiplied alpha (no dark fringes).

    Args:
        rgba: ``(h, w, 4)`` float32 in [0, 1], straight alpha, colours already adjusted.
        op: the occluder's params (``transform``, ``extend``, blur settings).
        size: output side.

    Returns:
        ``(box, color, alpha)``: the bounding box ``(x0, y0, x1, y1)`` in the image (clipped to it), and the
        premultiplied colour ``(y1-y0, x1-x0, 3)`` and alpha ``(y1-y0, x1-x0)`` on it, float32 in [0, 1].
    """
    rgba = np.ascontiguousarray(rgba, dtype=np.float32)
    return warp_premultiplied(premultiply(cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB), cv2.extractChannel(rgba, 3)), op,
                              size)


def premultiply(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``(h, w, 3)`` straight colour and ``(h, w)`` alpha (float32) to premultiplied ``(h, w, 4)`` RGBA."""
    return cv2.merge([cv2.multiply(rgb, _per_channel(alpha)), alpha])


PostWarp = Callable[[np.ndarray, tuple[int, int, int, int]], np.ndarray]


def warp_premultiplied(prem: np.ndarray, op: OccluderParams, size: int,
                       before_blur: PostWarp | None = None,
                       origin: tuple[int, int] = (0, 0)) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]:
    """:func:`warp_occluder` of an asset already premultiplied (``(h, w, 4)`` float32, colour times alpha).

    ``before_blur(rgba, box)``, when given, changes the colour of the warped premultiplied ``(h, w, 4)`` RGBA on
    ``box`` before the blur and returns it, its alpha channel unchanged: shading and texture in image space.
    ``origin`` is the asset pixel ``(x, y)`` that ``prem``'s first pixel is, when ``prem`` is a crop of the asset
    (``OccluderAsset.visible_box``).
    """
    m = op.matrix
    if origin != (0, 0):
        m = compose(m, np.array([[1.0, 0.0, origin[0]], [0.0, 1.0, origin[1]]]))
    if op.extend:
        prem, m = extend_limb(prem, op.extend, m, size)
    scale = math.sqrt(abs(np.linalg.det(m[:, :2])))
    if scale < 0.5:
        # Shrink first with an area filter: bilinear warping alone would alias thin strands and frames.
        f = min(1.0, 2.0 * scale)
        h, w = prem.shape[:2]
        nw, nh = max(1, round(w * f)), max(1, round(h * f))
        prem = cv2.resize(prem, (nw, nh), interpolation=cv2.INTER_AREA)
        m = compose(m, np.array([[w / nw, 0.0, 0.5 * (w / nw - 1)], [0.0, h / nh, 0.5 * (h / nh - 1)]]))
    # Blur spreads the layer: the box keeps a margin so blurring inside it equals blurring the whole frame.
    sigma = math.hypot(op.defocus_sigma, op.camera_sigma)
    margin = 2.0 + math.ceil(3.0 * sigma) + op.motion_blur  # the Gaussian's radius is ceil(3 sigma)
    box = _bbox(m, prem.shape[1], prem.shape[0], margin, size)
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return (0, 0, 0, 0), np.zeros((0, 0, 3), np.float32), np.zeros((0, 0), np.float32)
    m_roi = m.copy()
    m_roi[:, 2] -= (x0, y0)
    out = cv2.warpAffine(prem, m_roi, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    if before_blur is not None:
        out = before_blur(out, box)
    if sigma > 0:
        out = realism.gaussian(out, sigma)
    if op.motion_blur > 0:
        out = realism.motion_blur(out, op.motion_blur, op.motion_angle)
    np.clip(out, 0.0, 1.0, out=out)
    if op.opacity != 1.0:
        out *= np.float32(op.opacity)
    alpha = cv2.extractChannel(out, 3)
    color = cv2.min(cv2.cvtColor(out, cv2.COLOR_RGBA2RGB), _per_channel(alpha))
    return box, color, alpha


def _opaque_lab_median(asset: Any) -> np.ndarray | None:
    u8 = asset.rgba()
    return realism.opaque_lab_median(u8[..., :3].astype(np.float32) / 255.0, u8[..., 3].astype(np.float32) / 255.0)


class _FaceReadings:
    """What the occluders of a sample read from the face photo, each computed on first use and kept with the face
    (pure functions of it: its skin colour, white balance, hair colour and skin detail), so composites that share
    a face read it once. ``clean`` is the face image as float32 in [0, 1]."""

    def __init__(self, face: FaceRecord, clean: np.ndarray) -> None:
        self.face, self.clean = face, clean
        self._cache = face_memo(face)

    def _get(self, name: str, compute: Callable[[], Any]) -> Any:
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    @property
    def frame(self) -> tuple[dict[str, np.ndarray], Any]:
        def compute() -> tuple[dict[str, np.ndarray], Any]:
            anchors = face_anchors(self.face.landmarks)
            return anchors, face_frame(self.face.landmarks, anchors)
        return self._get("frame", compute)

    @property
    def small(self) -> tuple[np.ndarray, np.ndarray]:
        """The photo and its skin matte, small (:func:`realism.reading_copy`), shared by the colour statistics."""
        return self._get("small", lambda: realism.reading_copy(self.clean, self.face.skin))

    @property
    def skin_lab(self) -> np.ndarray:
        return self._get("skin_lab", lambda: realism.skin_statistics(*self.small, presized=True))

    @property
    def hair_band_lab(self) -> np.ndarray | None:
        """The hair above the hairline (``realism.hair_statistics``), the target of the recipe's hair_recolor."""
        return self._get("hair_band_lab", lambda: realism.hair_statistics(self.clean, self.face.skin,
                                                                          self.face.landmarks))

    @property
    def skin_luma(self) -> float:
        """Median luma (sRGB, [0, 1]) of the confident skin."""
        return self._get("skin_luma", lambda: realism.skin_luma(*self.small, presized=True))

    @property
    def scene_light(self) -> tuple[np.ndarray, float]:
        return self._get("scene_light", lambda: realism.scene_light(self.small[0], presized=True))

    @property
    def hair_lab(self) -> np.ndarray | None:
        def compute() -> np.ndarray | None:
            anchors, frame = self.frame
            image, skin = self.small
            f = image.shape[0] / self.clean.shape[0]
            return hair_colour.hair_lab(image, skin, anchors["eyes_center"] * f, frame.down, frame.iod * f,
                                        skin_lab=self.skin_lab)
        return self._get("hair_lab", compute)

    @property
    def skin_detail(self) -> np.ndarray | None:
        def compute() -> np.ndarray | None:
            anchors, frame = self.frame
            box = skin_texture.skin_patch_box(self.face.skin, anchors, frame.iod, image=self.clean)
            if box is None:
                return None
            return skin_texture.skin_detail(self.clean, box, max(1.5, 0.03 * frame.iod))
        return self._get("skin_detail", compute)


def _grain_offset(seed: int, index: int, shape: tuple[int, int], side: int) -> tuple[int, int]:
    """Where occluder ``index`` of the sample with ``seed`` reads the fixed noise tile (``side`` square)."""
    rng = np.random.default_rng([seed, 2, index])
    return int(rng.integers(0, side - shape[0] + 1)), int(rng.integers(0, side - shape[1] + 1))


def render_layers(
    face: FaceRecord, assets: Mapping[str, Any], params: CompositeParams, clean: np.ndarray | None = None
) -> list[Layer]:
    """Warp every occluder of ``params`` (bottom to top) with its colour adjustments and shadow.

    ``clean`` is the face image as float32 in [0, 1], when the caller has it already.
    """
    size = params.size
    if clean is None:
        clean = to_float(face.image)
    face_data = _FaceReadings(face, clean)
    layers = []
    for index, op in enumerate(params.occluders):
        asset = assets[op.asset_id]
        x0, y0, x1, y1 = asset.visible_box(op.extend)
        # np.multiply(rgba, np.float32(1 / 255)) of the visible part, looked up
        rgba = cv2.LUT(asset.rgba()[y0:y1, x0:x1], _ASSET_FLOAT)
        rgb, a = cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB), cv2.extractChannel(rgba, 3)
        if op.tone_transfer > 0 and op.kind == "hair":
            # The recipe's hair_recolor (real hair assets): towards the hair above the face's hairline.
            target = face_data.hair_band_lab
            if target is not None:  # no hair visible above the face: the asset keeps its colour
                rgb = realism.tone_transfer(rgb, a, target, op.tone_transfer,
                                            source_lab=asset.memo("opaque_lab_median", _opaque_lab_median))
        elif op.tone_transfer > 0:
            # Hands take the face's skin as their albedo; other occluders only lean towards it.
            transfer = realism.albedo_transfer if op.kind == "hand" else realism.tone_transfer
            rgb = transfer(rgb, a, face_data.skin_lab, op.tone_transfer,
                           source_lab=asset.memo("opaque_lab_median", _opaque_lab_median))
        if op.hair_colour > 0 and face_data.hair_lab is not None:
            rgb = realism.albedo_transfer(rgb, a, face_data.hair_lab, op.hair_colour,
                                          source_lab=asset.memo("opaque_lab_median", _opaque_lab_median))
        if op.light_match > 0:
            gains, lum = face_data.scene_light
            rgb = realism.light_match(rgb, gains, lum, op.light_match)
        before_blur = None
        detail = face_data.skin_detail if op.skin_detail > 0 else None
        # Half the face's local exposure: the other half of its darkening on a cheek is the cheek turning away
        # from the light, which the fitted light applies to the hand's own normals (shade_occluder).
        exposure = 0.5 * op.tone_transfer if op.kind == "hand" else 0.0
        if (op.shade > 0 and op.shade_radius > 0) or detail is not None or exposure > 0:
            def before_blur(rgba: np.ndarray, box: Box, op: OccluderParams = op,
                            detail: np.ndarray | None = detail, exposure: float = exposure) -> np.ndarray:
                gain = 1.0
                if exposure > 0:  # a hand takes the face's colour and, here, the face's local exposure
                    x0, y0, x1, y1 = box
                    gain = lighting.local_exposure(cv2.extractChannel(rgba, 3), clean[y0:y1, x0:x1],
                                                   face.skin[y0:y1, x0:x1], face_data.skin_luma, exposure)
                shade = op.shade if op.shade_radius > 0 else 0.0
                rgba = lighting.shade_occluder(rgba, params.light, op.shade_radius, shade, gain)
                if detail is not None:
                    rgba = skin_texture.apply_skin_detail(
                        rgba, detail, (int(op.skin_offset[0]), int(op.skin_offset[1])), op.skin_detail)
                return rgba
        box, color, alpha = warp_premultiplied(premultiply(rgb, a), op, size, before_blur, origin=(x0, y0))
        if op.grain > 0 and alpha.size:
            side = realism.tile_side(size)
            tile = realism.noise_tile(side)
            camera.add_grain(color, _per_channel(alpha), op.grain, tile,
                             _grain_offset(params.seed, index, alpha.shape, side))
        shadow_box = shadow = None
        if op.shadow_opacity > 0 and alpha.size:
            shadow_box, shadow = realism.cast_shadow_roi(alpha, box, size, op.shadow_offset, op.shadow_blur,
                                                         op.shadow_opacity)
        layers.append(Layer(size=size, box=box, color_roi=color, alpha_roi=alpha, shadow_box=shadow_box,
                            shadow_roi=shadow))
    return layers



def _union(boxes: list[Box]) -> Box | None:
    """Smallest box holding every non-empty box, or ``None``."""
    boxes = [b for b in boxes if b[2] > b[0] and b[3] > b[1]]
    if not boxes:
        return None
    x0, y0, x1, y1 = zip(*boxes)
    return min(x0), min(y0), max(x1), max(y1)


def _layer_boxes(layers: list[Layer]) -> list[Box]:
    return [layer.box for layer in layers] + [layer.shadow_box for layer in layers if layer.shadow_roi is not None]


def composite_region(
    canvas: np.ndarray, skin: np.ndarray, layers: list[Layer], region: Box
) -> tuple[np.ndarray, np.ndarray]:
    """Stack ``layers`` over ``canvas`` in place, inside ``region`` only (it must hold every layer's boxes).

    Args:
        canvas: ``(S, S, 3)`` float32 in [0, 1], the clean face; overwritten with the composite (clipped to
            [0, 1] inside ``region``).
        skin: ``(S, S)`` float in [0, 1].
        layers: bottom to top.
        region: ``(x0, y0, x1, y1)``.

    Returns:
        ``(alpha, occluder_alpha)`` on ``region``, float32 ``(y1-y0, x1-x0)``: outside it alpha is the skin
        and occluder_alpha is 0, exactly.
    """
    rx0, ry0, rx1, ry1 = region
    # float32 like the skin: 8-bit mattes need 1/510; float32 products of a few alphas are within 1e-7 of exact.
    keep = np.ones((ry1 - ry0, rx1 - rx0), dtype=np.float32)
    for layer in layers:
        if layer.shadow_roi is not None:
            x0, y0, x1, y1 = layer.shadow_box
            view = canvas[y0:y1, x0:x1]
            cv2.multiply(view, _per_channel(1.0 - layer.shadow_roi), dst=view)
        x0, y0, x1, y1 = layer.box
        if x1 <= x0 or y1 <= y0:
            continue
        view = canvas[y0:y1, x0:x1]
        cv2.multiply(view, _per_channel(1.0 - layer.alpha_roi), dst=view)
        cv2.add(view, layer.color_roi, dst=view)
        keep_view = keep[y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0]
        keep_view *= np.subtract(1.0, layer.alpha_roi, dtype=np.float32)
    inside = canvas[ry0:ry1, rx0:rx1]
    np.clip(inside, 0.0, 1.0, out=inside)
    alpha = skin[ry0:ry1, rx0:rx1].astype(np.float32)
    np.clip(alpha, 0.0, 1.0, out=alpha)
    alpha *= keep
    np.subtract(1.0, keep, out=keep)
    return alpha, keep


def composite(clean: np.ndarray, skin: np.ndarray, layers: list[Layer]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stack ``layers`` over ``clean`` (``(S, S, 3)`` float in [0, 1]); the full-frame form of the equation.

    Returns:
        ``(image, alpha, occluder_alpha)``, float32: image ``(S, S, 3)``, mattes ``(S, S)``.
    """
    canvas = clean.astype(np.float32, copy=True)
    np.clip(canvas, 0.0, 1.0, out=canvas)
    alpha = np.clip(skin.astype(np.float32), 0.0, 1.0)
    occ = np.zeros(skin.shape, dtype=np.float32)
    region = _union(_layer_boxes(layers))
    if region is not None:
        x0, y0, x1, y1 = region
        alpha[y0:y1, x0:x1], occ[y0:y1, x0:x1] = composite_region(canvas, skin, layers, region)
    return canvas, alpha, occ


def render(face: FaceRecord, assets: Mapping[str, Any], params: CompositeParams) -> Sample:
    """Render one sample.

    Args:
        face: the clean face (its ``image`` must be ``params.size`` square).
        assets: asset id -> ``OccluderAsset`` for every occluder in ``params``.
        params: from :func:`celebamat.synth.sampling.sample_params`.

    Returns:
        A :class:`Sample`. Deterministic: equal inputs give equal bytes.
    """
    if face.image.shape[:2] != (params.size, params.size):
        raise ValueError(f"face {face.face_id} is {face.image.shape[:2]}, params expect {params.size}")
    clean = to_float(face.image)
    layers = render_layers(face, assets, params, clean)
    # Mattes: the quantised skin everywhere, recomputed only where a layer (or its shadow) reaches. skin and
    # alpha share one precision, so alpha == skin exactly where nothing occludes, bit for bit.
    memo = face_memo(face)
    if "skin_q" not in memo:  # a pure function of the face: once per face
        memo["skin_q"] = _quantize_in_place(face.skin.astype(np.float32))
    skin_q = memo["skin_q"].copy()
    alpha_q = skin_q.copy()
    occ_q = np.zeros_like(skin_q)
    region = _union(_layer_boxes(layers))
    if region is not None:
        x0, y0, x1, y1 = region
        alpha, occ = composite_region(clean, face.skin, layers, region)
        alpha_q[y0:y1, x0:x1] = _quantize_in_place(alpha)
        occ_q[y0:y1, x0:x1] = _quantize_in_place(occ)
    if params.noise_sigma > 0:
        image_u8 = realism.add_noise(clean, params.noise_sigma, np.random.default_rng([params.seed, 1]), as_uint8=True)
    else:
        # Outside the region the composite is the clean face, whose 8-bit values round-trip exactly.
        image_u8 = face.image.copy()
        if region is not None:
            image_u8[y0:y1, x0:x1] = to_uint8(clean[y0:y1, x0:x1])
    if params.jpeg_quality > 0:
        return Sample(pixels=None, alpha=alpha_q, skin=skin_q, occluder_alpha=occ_q, clean=face.image,
                      image_jpeg=realism.encode_jpeg_bytes(image_u8, params.jpeg_quality))
    return Sample(pixels=image_u8, alpha=alpha_q, skin=skin_q, occluder_alpha=occ_q, clean=face.image)
