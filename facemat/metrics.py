"""Matting metrics by the Deep Image Matting (Xu et al. 2017) conventions, plus binary-mask scores.

All inputs are ``(H, W)`` float arrays in [0, 1] (prediction and ground truth at the ground truth's size).
Scales follow the usual tables: SAD, Grad and Conn are divided by 1000; MSE is returned raw (a mean) and
*printed* x1e3. Each matting metric is computed on two regions:

- ``whole``: every pixel;
- ``unknown``: the unknown band of a trimap made deterministically from the ground truth by
  :func:`make_trimap`: pixels with ``0 < gt < 1`` or either side of the 0.5-level boundary (4-neighbours), dilated by a square of side
  ``2r + 1`` with ``r = max(1, round(10 * min(H, W) / 512))`` (10 px at 512 px).

Binary scores threshold both alphas at 0.5 (``>= 0.5`` is skin) over the whole image: IoU, accuracy and recall
(IoU and recall are 1 when the ground truth and prediction are both empty).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

GRAD_SIGMA = 1.4
CONN_STEP = 0.1


def _region(mask: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    return np.ones(shape, bool) if mask is None else mask.astype(bool)


def sad(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Sum of absolute differences over the region, / 1000."""
    m = _region(mask, gt.shape)
    return float(np.abs(pred - gt)[m].sum() / 1000.0)


def mse(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean squared error over the region (0 for an empty region); tables print it x1e3."""
    m = _region(mask, gt.shape)
    n = m.sum()
    return float(((pred - gt) ** 2)[m].sum() / n) if n else 0.0


def gaussian_derivative_kernels(sigma: float = GRAD_SIGMA) -> tuple[np.ndarray, np.ndarray]:
    """First-order Gaussian-derivative filters ``(kx, ky)``, each normalised to unit L2 norm.

    Half-width ``ceil(sigma * sqrt(-2 ln(sqrt(2 pi) sigma 0.01)))`` (the DIM code's rule: 4 for sigma 1.4,
    a 9 x 9 kernel). ``kx[y, x] = G(y) * G'(x)`` responds to changes along x.
    """
    half = int(np.ceil(sigma * np.sqrt(-2 * np.log(np.sqrt(2 * np.pi) * sigma * 1e-2))))
    t = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-(t**2) / (2 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)
    dg = -t * g / sigma**2
    kx = np.outer(g, dg)
    kx /= np.sqrt((kx**2).sum())
    return kx, kx.T.copy()


def gradient_magnitude(alpha: np.ndarray, sigma: float = GRAD_SIGMA) -> np.ndarray:
    """``sqrt(gx^2 + gy^2)`` with the Gaussian-derivative filters, replicate borders (MATLAB imfilter)."""
    kx, ky = gaussian_derivative_kernels(sigma)
    a = alpha.astype(np.float64)
    gx = ndimage.correlate(a, kx, mode="nearest")
    gy = ndimage.correlate(a, ky, mode="nearest")
    return np.sqrt(gx**2 + gy**2)


def gradient_error(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None, sigma: float = GRAD_SIGMA) -> float:
    """Sum over the region of ``(|grad pred| - |grad gt|)^2``, / 1000."""
    m = _region(mask, gt.shape)
    d = (gradient_magnitude(pred, sigma) - gradient_magnitude(gt, sigma)) ** 2
    return float(d[m].sum() / 1000.0)


_FOUR = ndimage.generate_binary_structure(2, 1)


def connectivity_error(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None, step: float = CONN_STEP) -> float:
    """Connectivity error (DIM): per pixel, the threshold level ``l`` at which it leaves the largest
    4-connected component of ``pred >= t & gt >= t``; ``phi = 1 - d * (d >= 0.15)`` with ``d = alpha - l``;
    sum over the region of ``|phi_pred - phi_gt|``, / 1000."""
    m = _region(mask, gt.shape)
    steps = np.round(np.arange(0.0, 1.0 + step / 2, step), 10)
    level = np.full(gt.shape, -1.0)
    for i in range(1, len(steps)):
        both = (pred >= steps[i]) & (gt >= steps[i])
        labels, n = ndimage.label(both, structure=_FOUR)
        omega = np.zeros(gt.shape, bool)
        if n:
            sizes = np.bincount(labels.ravel())[1:]
            omega = labels == (np.argmax(sizes) + 1)
        flag = (level == -1) & ~omega
        level[flag] = steps[i - 1]
    level[level == -1] = 1.0
    dp, dg = pred - level, gt - level
    phi_p = 1 - dp * (dp >= 0.15)
    phi_g = 1 - dg * (dg >= 0.15)
    return float(np.abs(phi_p - phi_g)[m].sum() / 1000.0)


def trimap_radius(shape: tuple[int, int]) -> int:
    """Dilation radius of the unknown band: 10 px at 512 px, scaled with the image, at least 1."""
    return max(1, int(round(10 * min(shape) / 512)))


def make_trimap(gt: np.ndarray) -> np.ndarray:
    """Unknown-band mask ``(H, W) bool`` from the ground truth (rule in the module docstring)."""
    fg = gt >= 0.5
    edge = (gt > 0) & (gt < 1)
    # Hard 0/1 boundaries too, both sides of the step so the band is symmetric about it.
    edge |= fg ^ ndimage.binary_erosion(fg, _FOUR, border_value=1)
    edge |= fg ^ ndimage.binary_dilation(fg, _FOUR)
    r = trimap_radius(gt.shape)
    return ndimage.binary_dilation(edge, np.ones((2 * r + 1, 2 * r + 1), bool))


def binary_scores(pred: np.ndarray, gt: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """IoU, accuracy and recall of ``pred >= threshold`` against ``gt >= threshold``."""
    p, g = pred >= threshold, gt >= threshold
    inter, union, pos = (p & g).sum(), (p | g).sum(), g.sum()
    return {
        "iou": float(inter / union) if union else 1.0,
        "acc": float((p == g).mean()),
        "recall": float(inter / pos) if pos else 1.0,
    }


def occluder_cut(pred: np.ndarray, skin: np.ndarray, occluder: np.ndarray, threshold: float = 0.5) -> tuple[int, int]:
    """How much of the occluders lying on the face a prediction cuts out.

    Args:
        pred: ``(H, W)`` predicted visible-skin matte in [0, 1].
        skin: ``(H, W)`` the clean face's skin in [0, 1] (the row's ``skin``).
        occluder: ``(H, W)`` the occluders' coverage in [0, 1] (the row's ``occluder_alpha``).

    Returns:
        ``(cut, over_skin)``: pixels where an occluder lies on skin (both at least ``threshold``) and the
        prediction is below ``threshold``, and all pixels where an occluder lies on skin. Pooled over a split,
        ``cut / over_skin`` says whether occluders are cut, apart from how well the free skin is kept
        (``recall``): a low IoU with a high cut share points at the free skin, or at its ground truth.
    """
    over = (np.asarray(skin) >= threshold) & (np.asarray(occluder) >= threshold)
    if pred.shape != over.shape:
        raise ValueError(f"prediction {pred.shape} and skin {over.shape} differ in shape")
    return int((over & (np.asarray(pred) < threshold)).sum()), int(over.sum())


def image_metrics(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    """Every metric of one image: ``{sad,mse,grad,conn}_{whole,unknown}`` (SAD/Grad/Conn already /1000,
    MSE raw) plus ``iou``, ``acc``, ``recall``."""
    pred = np.clip(np.asarray(pred, np.float64), 0, 1)
    gt = np.asarray(gt, np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in shape")
    out: dict[str, float] = {}
    for region, mask in (("whole", None), ("unknown", make_trimap(gt))):
        out[f"sad_{region}"] = sad(pred, gt, mask)
        out[f"mse_{region}"] = mse(pred, gt, mask)
        out[f"grad_{region}"] = gradient_error(pred, gt, mask)
        out[f"conn_{region}"] = connectivity_error(pred, gt, mask)
    out.update(binary_scores(pred, gt))
    return out


#: metric key -> (printed column name, factor applied for printing)
COLUMNS: dict[str, tuple[str, float]] = {
    **{f"{m}_{r}": (f"{m.upper() if m != 'conn' else 'Conn'}({r},{'x1e3' if m == 'mse' else '/1e3'})",
                    1e3 if m == "mse" else 1.0)
       for r in ("whole", "unknown") for m in ("sad", "mse", "grad", "conn")},
    "iou": ("IoU(whole,@0.5)", 1.0),
    "acc": ("Acc(whole,@0.5)", 1.0),
    "recall": ("Recall(whole,@0.5)", 1.0),
}
COLUMNS["grad_whole"] = ("Grad(whole,/1e3)", 1.0)
COLUMNS["grad_unknown"] = ("Grad(unknown,/1e3)", 1.0)


def format_table(means: dict[str, float]) -> str:
    """Two-line table (header, values) naming each column's region and scale."""
    keys = [k for k in COLUMNS if k in means]
    heads = [COLUMNS[k][0] for k in keys]
    vals = [f"{means[k] * COLUMNS[k][1]:.4f}" for k in keys]
    widths = [max(len(h), len(v)) for h, v in zip(heads, vals)]
    return "\n".join("  ".join(s.rjust(w) for s, w in zip(row, widths)) for row in (heads, vals))
