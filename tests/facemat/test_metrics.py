"""Golden cases worked out by hand, and agreement with an independent implementation."""

import numpy as np
import pytest
from scipy.signal import correlate2d
from skimage.measure import label

from facemat.metrics import (binary_scores, connectivity_error, gaussian_derivative_kernels, gradient_error, image_metrics,
                             make_trimap, mse, sad, trimap_radius, format_table)


def square_case():
    gt = np.zeros((32, 32))
    gt[8:24, 8:24] = 1.0
    pred = gt.copy()
    pred[8:24, 8:12] = 0.5  # 64 pixels off by 0.5
    return pred, gt


def test_sad_mse_by_hand():
    pred, gt = square_case()
    assert sad(pred, gt) == pytest.approx(64 * 0.5 / 1000)
    assert mse(pred, gt) == pytest.approx(64 * 0.25 / 1024)
    mask = np.zeros_like(gt, bool)
    mask[8:24, 8:10] = True  # 32 wrong pixels inside the mask
    assert sad(pred, gt, mask) == pytest.approx(16 / 1000)
    assert mse(pred, gt, mask) == pytest.approx(0.25)
    assert mse(pred, gt, np.zeros_like(mask)) == 0.0


def test_conn_by_hand():
    # Pixels at 0.5 where gt is 1 leave the common component at threshold 0.6 -> l = 0.5:
    # phi_pred = 1 (d = 0 < 0.15), phi_gt = 1 - 0.5 = 0.5: 0.5 per pixel, 64 pixels.
    pred, gt = square_case()
    assert connectivity_error(pred, gt) == pytest.approx(64 * 0.5 / 1000)
    assert connectivity_error(gt, gt) == 0.0
    # A detached blob in pred that gt lacks: l = 0 there (never in the common component), phi_pred = 1 - 1,
    # phi_gt = 1 - 0 = 1 for gt = 0 pixels: |0 - 1| = 1 for the 4 blob pixels.
    pred2 = gt.copy()
    pred2[0:2, 0:2] = 1.0
    assert connectivity_error(pred2, gt) == pytest.approx(4 / 1000)


def test_gradient_kernel_and_golden():
    kx, ky = gaussian_derivative_kernels(1.4)
    assert kx.shape == (9, 9) and np.isclose((kx**2).sum(), 1.0) and np.allclose(ky, kx.T)
    assert np.isclose(kx.sum(), 0.0)  # a derivative filter ignores constants
    gt = np.zeros((16, 16))
    assert gradient_error(gt + 0.3, gt) == pytest.approx(0.0, abs=1e-12)  # constant offsets have no gradient
    pred, gt = square_case()
    assert gradient_error(pred, gt) > 0 and gradient_error(gt, gt) == 0.0


def _independent_grad(pred, gt, mask):
    """Replicate padding + explicit 2-D correlation built from the formula, not from facemat's kernels."""
    sigma, half = 1.4, 4
    t = np.arange(-half, half + 1)
    g = np.exp(-t**2 / (2 * sigma**2))
    dg = -t / sigma**2 * g
    k = g[:, None] * dg[None, :]
    k = k / np.linalg.norm(k)

    def mag(a):
        p = np.pad(a, half, mode="edge")
        return np.hypot(correlate2d(p, k, mode="valid"), correlate2d(p, k.T, mode="valid"))

    return ((mag(pred) - mag(gt)) ** 2 * mask).sum() / 1000


def _independent_conn(pred, gt, mask):
    """Straight transcription of the DIM MATLAB loop with skimage's labelling (4-connectivity)."""
    level = -np.ones_like(gt)
    for i in range(1, 11):
        t, prev = i / 10, (i - 1) / 10
        lab = label((pred >= t) & (gt >= t), connectivity=1)
        omega = np.zeros_like(gt, bool)
        if lab.max():
            counts = [(lab == j).sum() for j in range(1, lab.max() + 1)]
            omega = lab == 1 + int(np.argmax(counts))
        level[(level == -1) & ~omega] = prev
    level[level == -1] = 1
    dp, dgt = pred - level, gt - level
    return (np.abs((1 - dp * (dp >= 0.15)) - (1 - dgt * (dgt >= 0.15))) * mask).sum() / 1000


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_independent_implementation(seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:48, 0:40]
    gt = np.clip(1.5 - np.hypot(yy - 24, xx - 20) / 10, 0, 1)
    gt[20:24, :] = 0
    gt = np.round(gt * 255) / 255
    pred = np.clip(gt + rng.normal(0, 0.15, gt.shape), 0, 1)
    pred[0:5, 0:5] = 0.9  # a spurious blob
    mask = make_trimap(gt)
    assert gradient_error(pred, gt, mask) == pytest.approx(_independent_grad(pred, gt, mask), rel=1e-9)
    assert connectivity_error(pred, gt, mask) == pytest.approx(_independent_conn(pred, gt, mask), rel=1e-9)
    assert connectivity_error(pred, gt) == pytest.approx(_independent_conn(pred, gt, np.ones_like(gt)), rel=1e-9)


def test_trimap_rule():
    assert trimap_radius((512, 512)) == 10 and trimap_radius((256, 256)) == 5 and trimap_radius((20, 20)) == 1
    gt = np.zeros((64, 64))
    gt[:, 32:] = 1.0  # a hard vertical edge between columns 31 and 32
    band = make_trimap(gt)
    r = trimap_radius(gt.shape)
    cols = np.where(band.any(0))[0]
    assert cols.min() == 31 - r and cols.max() == 32 + r and band[:, cols].all()
    assert not make_trimap(np.ones((16, 16))).any()


def test_binary_scores_by_hand():
    gt = np.zeros((10, 10))
    gt[:, :5] = 1  # 50 positive
    pred = np.zeros((10, 10))
    pred[:, :4] = 0.9  # 40 true positives
    pred[0, 9] = 0.6  # 1 false positive
    s = binary_scores(pred, gt)
    assert s["iou"] == pytest.approx(40 / 51)
    assert s["recall"] == pytest.approx(40 / 50)
    assert s["acc"] == pytest.approx(89 / 100)
    assert binary_scores(np.zeros((4, 4)), np.zeros((4, 4))) == {"iou": 1.0, "acc": 1.0, "recall": 1.0}


def test_image_metrics_and_table_name_region_and_scale():
    pred, gt = square_case()
    m = image_metrics(pred, gt)
    assert m["sad_whole"] == pytest.approx(0.032) and m["sad_unknown"] < m["sad_whole"]
    table = format_table(m)
    for col in ("SAD(whole,/1e3)", "MSE(unknown,x1e3)", "Grad(unknown,/1e3)", "Conn(whole,/1e3)", "IoU(whole,@0.5)"):
        assert col in table
    assert "15.6250" in table  # MSE whole 0.015625 printed x1e3
    with pytest.raises(ValueError, match="differ in shape"):
        image_metrics(pred[:10], gt)


def test_occluder_cut_counts_the_occluder_over_skin_that_a_prediction_cuts():
    from facemat.metrics import occluder_cut

    skin = np.zeros((10, 10), np.float32)
    skin[:, :6] = 1.0  # skin on the left six columns
    occ = np.zeros((10, 10), np.float32)
    occ[:4, 3:] = 1.0  # an occluder over the top four rows, from column 3: 12 pixels of it lie on skin
    pred = skin * (1.0 - occ)
    assert occluder_cut(pred, skin, occ) == (12, 12)  # the perfect matte cuts all of it
    assert occluder_cut(skin, skin, occ) == (0, 12)  # an occlusion-blind one cuts none
    half = pred.copy()
    half[:2, 3:6] = 0.7  # two rows of the occluder kept as skin
    assert occluder_cut(half, skin, occ) == (6, 12)
    assert occluder_cut(pred, skin, np.zeros_like(occ)) == (0, 0)
    with pytest.raises(ValueError, match="shape"):
        occluder_cut(pred[:5], skin, occ)
