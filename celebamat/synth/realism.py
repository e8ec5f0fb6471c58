"""Pure image operations that make a composite look photographed: colour matching, shadows, blur, noise, JPEG.

Colours are float32 in [0, 1] (sRGB), alphas float32 in [0, 1]. Nothing here draws random numbers: strengths
come from the sample's params, noise from a generator the caller seeds from them.
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np


#: Longest side of the copy of a face photo its colour statistics are read from (:func:`reading_copy`).
READING_SIDE = 128


def reading_copy(image: np.ndarray, skin: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """A face photo (``(S, S, 3)`` float32) and its skin matte (``(S, S)``), area-averaged to a quarter of the
    side, at most :data:`READING_SIDE` and at least 32 px: the medians and means below move by a fraction of a
    level there (0.2 Lab units for the skin's colour at 1024 px against a 256 px copy), and every build size reads
    about the same pixels. Computed once per sample and shared by them (``presized=True``)."""
    small = max(32, min(READING_SIDE, image.shape[0] // 4))
    image = _area_resize(image, small)
    if skin is not None:
        skin = _area_resize(np.asarray(skin, np.float32), small)
    return image, skin


def _area_resize(x: np.ndarray, side: int) -> np.ndarray:
    """``x`` (square, float32) area-averaged to ``side``. A reduction by 2, 4, 8, ... is that many halvings: at a
    scale of exactly 1/2 bilinear reads halfway between two pixels, so each halving is the 2 x 2 average and
    ``k`` of them the ``2**k`` square one, to float32 rounding (1 ulp); under half of OpenCV's ``INTER_AREA``
    time at 1024 px."""
    n = x.shape[0]
    if x.shape[1] == n and n % side == 0 and (n // side) & (n // side - 1) == 0:
        while x.shape[0] > side:
            h = x.shape[0] // 2
            x = cv2.resize(x, (h, h), interpolation=cv2.INTER_LINEAR)
        return x
    return cv2.resize(x, (side, side), interpolation=cv2.INTER_AREA)


def skin_statistics(image: np.ndarray, skin: np.ndarray, presized: bool = False) -> np.ndarray:
    """Median CIE-Lab colour of the confident skin of a face.

    Args:
        image: ``(H, W, 3)`` float32 RGB in [0, 1].
        skin: ``(H, W)`` float32 in [0, 1].
        presized: the inputs are already :func:`reading_copy` size.

    Returns:
        ``(3,)`` float32 Lab median (L in [0, 100]); of the whole image when the skin is nearly empty.
    """
    if not presized:
        image, skin = reading_copy(image, skin)
    return np.median(cv2.cvtColor(image, cv2.COLOR_RGB2Lab)[_confident(skin)], axis=0).astype(np.float32)


def _confident(skin: np.ndarray) -> np.ndarray:
    """Mask of the confident skin (> 0.95); everything when that holds fewer than 64 pixels."""
    sel = skin > 0.95
    return sel if sel.sum() >= 64 else np.ones(skin.shape, dtype=bool)


def skin_luma(image: np.ndarray, skin: np.ndarray, presized: bool = False) -> float:
    """Median luma (``cv2.COLOR_RGB2GRAY`` of sRGB, in [0, 1]) of the confident skin (> 0.95) of a face, on its
    :func:`reading_copy` (``presized``: the inputs are that copy already); of the whole image
    when the skin is nearly empty. ``image`` ``(H, W, 3)`` float32 RGB in [0, 1]; ``skin`` ``(H, W)``."""
    if not presized:
        image, skin = reading_copy(image, skin)
    return float(np.median(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[_confident(skin)]))


def hair_statistics(image: np.ndarray, skin: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
    """Median CIE-Lab colour of a face's own hair, from a band above its hairline, skin excluded.

    Args:
        image: ``(H, W, 3)`` float32 RGB in [0, 1].
        skin: ``(H, W)`` float32 skin matte in [0, 1].
        landmarks: ``(478, 2)`` face-mesh pixels.

    Returns:
        ``(3,)`` float32 Lab, or ``None`` when fewer than 64 non-skin pixels of the grid read lie in the band (a
        face cropped at the forehead).
    """
    from celebamat.landmarks import face_anchors

    a = face_anchors(landmarks)
    iod = float(np.linalg.norm(a["eye_right"] - a["eye_left"]))
    h, w = skin.shape
    x0, x1 = int(max(0, a["temple_left"][0])), int(min(w, a["temple_right"][0]))
    y0, y1 = int(max(0, a["hairline"][1] - 0.6 * iod)), int(min(h, a["hairline"][1] + 0.1 * iod))
    if x1 <= x0 or y1 <= y0:
        return None
    # Every k-th pixel each way, k = side / 256: the median of a band this wide moves by a fraction of a level.
    k = max(1, h // 256)
    sel = skin[y0:y1:k, x0:x1:k] < 0.3
    if sel.sum() < 64:
        return None
    lab = cv2.cvtColor(np.ascontiguousarray(image[y0:y1:k, x0:x1:k]), cv2.COLOR_RGB2Lab)
    return np.median(lab[sel], axis=0).astype(np.float32)


def opaque_lab_median(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray | None:
    """Median CIE-Lab colour of the opaque part (alpha > 0.9) of an occluder; ``None`` when under 16 pixels.

    ``rgb`` is ``(h, w, 3)`` float32 in [0, 1], straight; ``alpha`` ``(h, w)``. Depends on the asset alone, so
    callers may keep it per asset.
    """
    sel = alpha > 0.9
    if sel.sum() < 16:
        return None
    lab = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2Lab)
    return np.median(lab[sel], axis=0).astype(np.float32)


def tone_transfer(rgb: np.ndarray, alpha: np.ndarray, target_lab: np.ndarray, strength: float,
                  source_lab: np.ndarray | None = None, lightness: float = 0.6) -> np.ndarray:
    """Shift the colours of an occluder towards a target colour (a hand to a face's skin, hair to the person's).

    The median Lab of the opaque part of ``rgb`` moves ``strength`` of the way to ``target_lab`` (chroma fully,
    lightness by ``lightness``, 60 % unless given), keeping the asset's own shading. ``rgb`` is ``(h, w, 3)``
    float32 in [0, 1], straight (not premultiplied); ``alpha`` ``(h, w)``. ``source_lab`` is
    :func:`opaque_lab_median` of the occluder when the caller has it already.
    """
    if strength <= 0:
        return rgb
    src = opaque_lab_median(rgb, alpha) if source_lab is None else source_lab
    if src is None:
        return rgb
    delta = (np.asarray(target_lab, dtype=np.float32) - src) * strength
    delta[0] *= np.float32(lightness)
    lab = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2Lab)
    cv2.add(lab, (float(delta[0]), float(delta[1]), float(delta[2]), 0.0), dst=lab)  # per channel
    out = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    return np.clip(out, 0.0, 1.0, out=out)


def albedo_transfer(rgb: np.ndarray, alpha: np.ndarray, target_lab: np.ndarray, strength: float,
                    source_lab: np.ndarray | None = None) -> np.ndarray:
    """Give an occluder a target colour by per-channel gains, keeping its relative shading (a hand the face's
    skin colour, hair the person's hair colour).

    The gains take the median colour of the opaque part of ``rgb`` to the colour of ``target_lab``; applied as
    ``gain ** strength`` (``strength`` in [0, 1]) to sRGB values, which under the power-law approximation of sRGB
    is the same as scaling linear light, so a dark asset lifted to a light face keeps its shadows in proportion
    (an additive Lab shift would flatten them). Gains are clipped to [0.25, 4]. Shapes as in
    :func:`tone_transfer`.
    """
    if strength <= 0:
        return rgb
    src = opaque_lab_median(rgb, alpha) if source_lab is None else source_lab
    if src is None:
        return rgb
    pair = np.stack([np.asarray(src, np.float32), np.asarray(target_lab, np.float32)])[None]
    s_rgb, t_rgb = cv2.cvtColor(pair, cv2.COLOR_Lab2RGB)[0]
    gains = np.clip(np.maximum(t_rgb, 1e-3) / np.maximum(s_rgb, 1e-3), 0.25, 4.0) ** float(strength)
    out = cv2.multiply(np.ascontiguousarray(rgb), (float(gains[0]), float(gains[1]), float(gains[2]), 0.0))
    return np.clip(out, 0.0, 1.0, out=out)


def scene_light(image: np.ndarray, presized: bool = False) -> tuple[np.ndarray, float]:
    """Grey-world white balance gains and the median luminance of a photo (``(H, W, 3)`` float32 RGB; at a
    :func:`reading_copy`, or as given when ``presized``)."""
    if not presized:
        image = reading_copy(image)[0]
    mean = image.reshape(-1, 3).mean(0) + 1e-6
    gains = mean / mean.mean()
    lum = float(np.median(cv2.transform(image, np.array([[0.299, 0.587, 0.114]], dtype=np.float32))))
    return gains.astype(np.float32), lum


def light_match(rgb: np.ndarray, gains: np.ndarray, luminance: float, strength: float) -> np.ndarray:
    """Tint and brighten or darken an occluder towards the photo's light.

    Half of the grey-world cast and of the brightness ratio to mid-grey (clipped to [0.6, 1.35]) are applied,
    scaled by ``strength`` in [0, 1]: an occluder that was rendered under neutral light picks up the scene's.
    """
    if strength <= 0:
        return rgb
    bright = float(np.clip(luminance / 0.45, 0.6, 1.35)) ** (0.5 * strength)
    tint = np.power(np.clip(gains, 0.5, 2.0), 0.5 * strength).astype(np.float32)
    g = tint * bright
    out = cv2.multiply(rgb, (float(g[0]), float(g[1]), float(g[2]), 0.0))  # per channel
    return np.clip(out, 0.0, 1.0, out=out)


def gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with reflected borders (``sigma`` in pixels; 0 returns the input)."""
    if sigma <= 0:
        return image
    k = int(2 * math.ceil(3 * sigma) + 1)
    return cv2.GaussianBlur(image, (k, k), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT101)


def motion_kernel(length: float, angle_deg: float) -> np.ndarray:
    """Normalised linear motion-blur kernel of ``length`` pixels at ``angle_deg``."""
    n = max(int(math.ceil(length)) | 1, 3)
    k = np.zeros((n, n), dtype=np.float32)
    c = n // 2
    dx, dy = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    for t in np.linspace(-length / 2, length / 2, 4 * n):
        x, y = c + t * dx, c + t * dy
        x0, y0 = int(math.floor(x)), int(math.floor(y))
        fx, fy = x - x0, y - y0
        for xx, yy, w in ((x0, y0, (1 - fx) * (1 - fy)), (x0 + 1, y0, fx * (1 - fy)),
                          (x0, y0 + 1, (1 - fx) * fy), (x0 + 1, y0 + 1, fx * fy)):
            if 0 <= xx < n and 0 <= yy < n:
                k[yy, xx] += w
    return k / k.sum()


#: Largest kernel side OpenCV's ``filter2D`` convolves directly, over the kernel's non-zero taps only; a larger
#: kernel goes through the DFT, whose cost ignores how sparse the kernel is.
DIRECT_KERNEL_SIDE = 11


def motion_blur(image: np.ndarray, length: float, angle_deg: float) -> np.ndarray:
    """Linear motion blur (``length`` 0 returns the input), reflected borders.

    ``image`` is ``(H, W)`` or ``(H, W, C)`` float32. The kernel is a line, a few taps in an ``n x n`` square.
    Up to ``n = 11`` it is one direct convolution. A longer one (lengths above 11 px, common at 1024 px) is
    applied as blocks of at most 11 x 11, each convolved directly over the reflect-padded image and summed:
    the same result to float32 rounding (1e-6) in a quarter of the time of the DFT that ``filter2D`` would
    choose (about 6 ms against 23 ms on a 600 x 500 hand).
    """
    if length <= 0:
        return image
    kernel = motion_kernel(length, angle_deg)
    n = kernel.shape[0]
    if n <= DIRECT_KERNEL_SIDE:
        return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT101)
    c, (h, w) = n // 2, image.shape[:2]
    padded = cv2.copyMakeBorder(image, c, c, c, c, cv2.BORDER_REFLECT101)
    step = -(-n // -(-n // DIRECT_KERNEL_SIDE))  # n split into equal blocks of at most 11
    out = None
    for i0 in range(0, n, step):
        for j0 in range(0, n, step):
            block = kernel[i0 : i0 + step, j0 : j0 + step]
            if not block.any():
                continue
            bh, bw = block.shape
            # Output (y, x) of this block reads padded[y + i0 : y + i0 + bh, x + j0 : x + j0 + bw]: an anchor at
            # the block's corner on a view that holds every tap, so no border rule of filter2D is ever used.
            view = padded[i0 : i0 + h + bh - 1, j0 : j0 + w + bw - 1]
            part = cv2.filter2D(view, -1, block, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)[:h, :w]
            out = part.copy() if out is None else cv2.add(out, part, dst=out)
    return out


def cast_shadow(alpha: np.ndarray, offset: tuple[float, float], blur: float, opacity: float) -> np.ndarray:
    """Darkening map of the soft shadow an occluder with ``alpha`` casts on what lies beneath it.

    Returns ``(H, W)`` float32 in [0, opacity]: multiply the layers below by ``1 - shadow``.
    """
    if opacity <= 0:
        return np.zeros_like(alpha)
    h, w = alpha.shape
    # A wide blur (sigma of 6 to 20 px at 512) is computed at up to a quarter of the resolution and scaled
    # back: the same soft shadow to a fraction of a percent, at a fraction of the cost. Shadows never touch
    # a matte, so this costs no exactness.
    f = max(1, min(4, int(blur // 3)))
    src = cv2.resize(alpha, (-(-w // f), -(-h // f)), interpolation=cv2.INTER_AREA) if f > 1 else alpha
    m = np.float32([[1, 0, offset[0] / f], [0, 1, offset[1] / f]])
    moved = cv2.warpAffine(src, m, (src.shape[1], src.shape[0]), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    soft = gaussian(moved, blur / f)
    if f > 1:
        soft = cv2.resize(soft, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(soft * opacity, 0.0, 1.0)


def cast_shadow_roi(
    alpha: np.ndarray, box: tuple[int, int, int, int], size: int, offset: tuple[float, float], blur: float,
    opacity: float,
) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """:func:`cast_shadow` of a layer stored on ``box``, computed on the box grown by the shift and blur.

    Returns the shadow's box (clipped to the ``size`` x ``size`` image) and its darkening map on it.
    """
    x0, y0, x1, y1 = box
    grow = int(math.ceil(3 * blur + 1 + max(abs(offset[0]), abs(offset[1]))))
    sx0, sy0 = max(0, x0 - grow), max(0, y0 - grow)
    sx1, sy1 = min(size, x1 + grow), min(size, y1 + grow)
    canvas = np.zeros((sy1 - sy0, sx1 - sx0), dtype=np.float32)
    canvas[y0 - sy0 : y1 - sy0, x0 - sx0 : x1 - sx0] = alpha
    return (sx0, sy0, sx1, sy1), cast_shadow(canvas, offset, blur, opacity)


_NOISE_TILE_SEED = 0x5E45


def tile_side(size: int) -> int:
    """Side of the noise tile frames of ``size`` read windows from: ``size`` plus half of it, so a window of the
    whole frame still has ``(size / 2 + 1) ** 2`` places to start (a quarter of the pixels of a tile twice the
    frame's side, built in a quarter of the time)."""
    return size + size // 2


@lru_cache(maxsize=2)
def noise_tile(side: int) -> np.ndarray:
    """A fixed ``(side, side, 3)`` float32 tile of standard normal noise: a constant, built once per process,
    that sensor noise and grain read windows of (:func:`tile_side`)."""
    return np.random.default_rng(_NOISE_TILE_SEED).standard_normal((side, side, 3), dtype=np.float32)


#: Rows of a frame per pass of :func:`add_noise`: the pass's temporaries stay in the core's cache (element-wise
#: arithmetic, so the same values as one pass over the frame).
NOISE_STRIP_ROWS = 64


def _noise_field(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """The window of the fixed noise tile (:func:`noise_tile`) a frame of ``shape`` reads, at an offset from ``rng``."""
    h, w = shape[:2]
    side = tile_side(max(h, w))
    oy, ox = (int(v) for v in rng.integers(0, side - max(h, w) + 1, size=2))
    return noise_tile(side)[oy : oy + h, ox : ox + w]


def _noisy(image: np.ndarray, noise: np.ndarray, sigma: float) -> np.ndarray:
    """``image + noise * sigma(image)``, clipped to [0, 1]: a new float32 array (see :func:`add_noise`)."""
    # OpenCV's element-wise ops on 3-channel float images are several times faster than NumPy broadcasting.
    dark = cv2.transform(image, np.full((1, 3), -1.0 / 3.0, np.float32))  # -mean(R, G, B)
    dark += 1.0
    scale = np.sqrt(np.clip(dark, 0.0, 1.0, out=dark), out=dark)
    scale *= 0.8 * sigma / 255.0
    scale += 0.6 * sigma / 255.0
    out = cv2.multiply(noise, cv2.merge([scale, scale, scale]))
    cv2.add(out, image, dst=out)
    return np.clip(out, 0.0, 1.0, out=out)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float32 image in [0, 1] to uint8, ``rint(x * 255)`` (round half to even) in one OpenCV pass."""
    return cv2.convertScaleAbs(np.ascontiguousarray(image), alpha=255.0)


def add_noise(image: np.ndarray, sigma: float, rng: np.random.Generator, as_uint8: bool = False) -> np.ndarray:
    """Signal-dependent sensor noise: Gaussian with ``sigma`` 8-bit levels at mid-grey, more in the shadows.

    The noise field is a window of the fixed tile (:func:`noise_tile`), at an offset drawn from ``rng``:
    statistically the same as fresh noise for one image, at a fraction of the cost. ``image`` is ``(H, W, 3)``
    float32 in [0, 1]; returns a new one, or with ``as_uint8`` its :func:`to_uint8` (made strip by strip with
    the noise, without the float frame). Without noise (``sigma <= 0``) the float result is ``image`` itself.
    """
    if sigma <= 0:
        return to_uint8(image) if as_uint8 else image
    noise = _noise_field(image.shape, rng)
    out = np.empty(image.shape, np.uint8 if as_uint8 else np.float32)
    for y in range(0, image.shape[0], NOISE_STRIP_ROWS):
        strip = _noisy(image[y : y + NOISE_STRIP_ROWS], noise[y : y + NOISE_STRIP_ROWS], sigma)
        out[y : y + NOISE_STRIP_ROWS] = to_uint8(strip) if as_uint8 else strip
    return out


def encode_jpeg_bytes(image_u8: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of an ``(H, W, 3)`` uint8 RGB image at ``quality``."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image_u8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def decode_jpeg(data: bytes) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB pixels of JPEG bytes."""
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def jpeg_encode(image_u8: np.ndarray, quality: int) -> tuple[np.ndarray, bytes]:
    """Compress an ``(H, W, 3)`` uint8 RGB image as JPEG at ``quality``: ``(decoded image, JPEG bytes)``."""
    data = encode_jpeg_bytes(image_u8, quality)
    return decode_jpeg(data), data


def jpeg_roundtrip(image_u8: np.ndarray, quality: int) -> np.ndarray:
    """Encode an ``(H, W, 3)`` uint8 RGB image as JPEG at ``quality`` and decode it (0 returns the input)."""
    if quality <= 0:
        return image_u8
    return jpeg_encode(image_u8, quality)[0]
