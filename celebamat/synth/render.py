"""Rendering: a pure function of (face, assets, params) to a composite and its exact ground truth.

For occluders ``i = 1..n`` (bottom to top) with warped alphas ``a_i`` and premultiplied colours ``c_i``::

    canvas_0 = clean face
    canvas_i = c_i + (1 - a_i) * (canvas_{i-1} * (1 - shadow_i))
    alpha          = skin * prod_i (1 - a_i)
    occluder_alpha = 1 - prod_i (1 - a_i)

computed in float and quantised once (255 = skin). Shadows darken the layers below but never change a matte.
Blur of an occluder is applied to its colour and alpha alike, so image and matte cannot disagree. Sensor noise
and JPEG touch only the final image.
"""

from __future__ import annotations

import math
from dataclasses import InitVar, dataclass
from functools import cached_property
from typing import Any, Mapping

import cv2
import numpy as np

from celebamat.faces.record import FaceRecord
from celebamat.synth import realism
from celebamat.synth.params import CompositeParams, OccluderParams
from celebamat.synth.placement import compose

_MAX_EXTEND = 4096


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
    return np.rint(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def _per_channel(x: np.ndarray) -> np.ndarray:
    """``(h, w)`` to ``(h, w, 3)``: OpenCV's element-wise ops on that are many times faster than NumPy's
    broadcasting of ``x[..., None]`` over colour channels, with the same IEEE results."""
    return cv2.merge([x, x, x])


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float32 image in [0, 1] to uint8, ``rint(x * 255)`` (round half to even) in one OpenCV pass."""
    return cv2.convertScaleAbs(np.ascontiguousarray(image), alpha=255.0)


def _extend(rgba: np.ndarray, edge: str, m: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Extend an asset beyond ``edge`` by replicating its border pixels so a limb reaches the image border."""
    scale = math.sqrt(abs(np.linalg.det(m[:, :2])))
    pad = int(min(_MAX_EXTEND, math.ceil(1.5 * size / max(scale, 1e-3))))
    top, bottom, left, right = (pad if edge == e else 0 for e in ("top", "bottom", "left", "right"))
    out = cv2.copyMakeBorder(rgba, top, bottom, left, right, cv2.BORDER_REPLICATE)
    shift = np.array([[1.0, 0.0, -left], [0.0, 1.0, -top]])
    return out, compose(m, shift)


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


def warp_premultiplied(prem: np.ndarray, op: OccluderParams, size: int) -> tuple[tuple[int, int, int, int],
                                                                                 np.ndarray, np.ndarray]:
    """:func:`warp_occluder` of an asset already premultiplied (``(h, w, 4)`` float32, colour times alpha)."""
    m = op.matrix
    if op.extend:
        prem, m = _extend(prem, op.extend, m, size)
    scale = math.sqrt(abs(np.linalg.det(m[:, :2])))
    if scale < 0.5:
        # Shrink first with an area filter: bilinear warping alone would alias thin strands and frames.
        f = min(1.0, 2.0 * scale)
        h, w = prem.shape[:2]
        nw, nh = max(1, round(w * f)), max(1, round(h * f))
        prem = cv2.resize(prem, (nw, nh), interpolation=cv2.INTER_AREA)
        m = compose(m, np.array([[w / nw, 0.0, 0.5 * (w / nw - 1)], [0.0, h / nh, 0.5 * (h / nh - 1)]]))
    # Blur spreads the layer: the box keeps a margin so blurring inside it equals blurring the whole frame.
    margin = 2.0 + 3.0 * op.defocus_sigma + op.motion_blur + (4.0 if op.defocus_sigma > 0 else 0.0)
    box = _bbox(m, prem.shape[1], prem.shape[0], margin, size)
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return (0, 0, 0, 0), np.zeros((0, 0, 3), np.float32), np.zeros((0, 0), np.float32)
    m_roi = m.copy()
    m_roi[:, 2] -= (x0, y0)
    out = cv2.warpAffine(prem, m_roi, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    if op.defocus_sigma > 0:
        out = realism.gaussian(out, op.defocus_sigma)
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


def render_layers(
    face: FaceRecord, assets: Mapping[str, Any], params: CompositeParams, clean: np.ndarray | None = None
) -> list[Layer]:
    """Warp every occluder of ``params`` (bottom to top) with its colour adjustments and shadow.

    ``clean`` is the face image as float32 in [0, 1], when the caller has it already.
    """
    size = params.size
    if clean is None:
        clean = face.image.astype(np.float32) / 255.0
    skin_lab = gains = lum = None
    targets: dict[str, np.ndarray | None] = {}
    layers = []
    for op in params.occluders:
        asset = assets[op.asset_id]
        rgba = np.multiply(asset.rgba(), np.float32(1.0 / 255.0), dtype=np.float32)
        rgb, a = cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB), cv2.extractChannel(rgba, 3)
        if op.tone_transfer > 0 and op.kind == "hair":
            if "hair" not in targets:
                targets["hair"] = realism.hair_statistics(clean, face.skin, face.landmarks)
            if targets["hair"] is not None:  # no hair visible on the face: the asset keeps its colour
                rgb = realism.tone_transfer(rgb, a, targets["hair"], op.tone_transfer,
                                            source_lab=asset.memo("opaque_lab_median", _opaque_lab_median))
        elif op.tone_transfer > 0:
            if skin_lab is None:
                skin_lab = realism.skin_statistics(clean, face.skin)
            rgb = realism.tone_transfer(rgb, a, skin_lab, op.tone_transfer,
                                        source_lab=asset.memo("opaque_lab_median", _opaque_lab_median))
        if op.light_match > 0:
            if gains is None:
                gains, lum = realism.scene_light(clean)
            rgb = realism.light_match(rgb, gains, lum, op.light_match)
        box, color, alpha = warp_premultiplied(premultiply(rgb, a), op, size)
        shadow_box = shadow = None
        if op.shadow_opacity > 0 and alpha.size:
            shadow_box, shadow = realism.cast_shadow_roi(alpha, box, size, op.shadow_offset, op.shadow_blur,
                                                         op.shadow_opacity)
        layers.append(Layer(size=size, box=box, color_roi=color, alpha_roi=alpha, shadow_box=shadow_box,
                            shadow_roi=shadow))
    return layers


Box = tuple[int, int, int, int]


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
        ``(alpha, occluder_alpha)`` on ``region``, float64 ``(y1-y0, x1-x0)``: outside it alpha is the skin
        and occluder_alpha is 0, exactly.
    """
    rx0, ry0, rx1, ry1 = region
    keep = np.ones((ry1 - ry0, rx1 - rx0), dtype=np.float64)
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
        keep[y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0] *= np.subtract(1.0, layer.alpha_roi, dtype=np.float64)
    inside = canvas[ry0:ry1, rx0:rx1]
    np.clip(inside, 0.0, 1.0, out=inside)
    alpha = np.clip(skin[ry0:ry1, rx0:rx1].astype(np.float64), 0.0, 1.0) * keep
    return alpha, 1.0 - keep


def composite(clean: np.ndarray, skin: np.ndarray, layers: list[Layer]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stack ``layers`` over ``clean`` (``(S, S, 3)`` float in [0, 1]); the full-frame form of the equation.

    Returns:
        ``(image, alpha, occluder_alpha)`` in float: image ``(S, S, 3)`` float32, mattes ``(S, S)`` float64.
    """
    canvas = clean.astype(np.float32, copy=True)
    np.clip(canvas, 0.0, 1.0, out=canvas)
    alpha = np.clip(skin.astype(np.float64), 0.0, 1.0)
    occ = np.zeros(skin.shape, dtype=np.float64)
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
    clean = face.image.astype(np.float32) / 255.0
    layers = render_layers(face, assets, params, clean)
    # Mattes: the quantised skin everywhere, recomputed only where a layer (or its shadow) reaches. skin and
    # alpha share one precision, so alpha == skin exactly where nothing occludes, bit for bit.
    skin_q = quantize(face.skin.astype(np.float64))
    alpha_q = skin_q.copy()
    occ_q = np.zeros_like(skin_q)
    region = _union(_layer_boxes(layers))
    if region is not None:
        x0, y0, x1, y1 = region
        alpha, occ = composite_region(clean, face.skin, layers, region)
        alpha_q[y0:y1, x0:x1] = quantize(alpha)
        occ_q[y0:y1, x0:x1] = quantize(occ)
    if params.noise_sigma > 0:
        image = realism.add_noise(clean, params.noise_sigma, np.random.default_rng([params.seed, 1]))
        image_u8 = to_uint8(image)
    else:
        # Outside the region the composite is the clean face, whose 8-bit values round-trip exactly.
        image_u8 = face.image.copy()
        if region is not None:
            image_u8[y0:y1, x0:x1] = to_uint8(clean[y0:y1, x0:x1])
    if params.jpeg_quality > 0:
        return Sample(pixels=None, alpha=alpha_q, skin=skin_q, occluder_alpha=occ_q, clean=face.image,
                      image_jpeg=realism.encode_jpeg_bytes(image_u8, params.jpeg_quality))
    return Sample(pixels=image_u8, alpha=alpha_q, skin=skin_q, occluder_alpha=occ_q, clean=face.image)
