import math

import pytest
import torch

from facemat.config import DEFAULTS
from facemat.losses import laplacian_loss, nll_loss, student_loss, teacher_loss, uncertainty_weights


def test_laplace_and_gaussian_nll_values():
    a, t = torch.full((1, 1, 2, 2), 0.25), torch.full((1, 1, 2, 2), 1.0)
    ls = torch.full((1, 1, 2, 2), math.log(0.5))
    # Laplace: |0.75| / 0.5 + log(2 * 0.5) = 1.5
    assert nll_loss(a, ls, t, "laplace").item() == pytest.approx(1.5)
    # Gaussian: 0.75^2 / (2 * 0.25) + log 0.5 + log(2 pi) / 2
    want = 0.5625 / 0.5 + math.log(0.5) + 0.5 * math.log(2 * math.pi)
    assert nll_loss(a, ls, t, "gaussian").item() == pytest.approx(want)
    # beta-NLL scales by var^beta: Laplace var = 2 b^2 = 0.5
    assert nll_loss(a, ls, t, "laplace", beta=0.5).item() == pytest.approx(1.5 * math.sqrt(0.5))
    with pytest.raises(ValueError, match="laplace"):
        nll_loss(a, ls, t, "cauchy")


def test_nll_optimum_scale_is_the_error():
    # For a Laplace the NLL is minimised at b = |error|.
    err = 0.2
    a, t = torch.zeros(1, 1, 1, 1), torch.full((1, 1, 1, 1), err)
    scales = torch.linspace(0.05, 0.6, 56)
    values = [nll_loss(a, torch.log(s).view(1, 1, 1, 1), t).item() for s in scales]
    assert scales[int(torch.tensor(values).argmin())].item() == pytest.approx(err, abs=0.011)


def test_laplacian_loss_zero_iff_equal_and_sensitive_to_edges():
    x = torch.rand(2, 1, 32, 32)
    assert laplacian_loss(x, x).item() == 0.0
    assert laplacian_loss(x, x.flip(-1)).item() > 0


def test_uncertainty_weights_normalised_per_image():
    ls = torch.log(torch.rand(3, 1, 8, 8) + 0.1)
    for mode in ("uncertainty", "confidence"):
        w = uncertainty_weights(ls, mode, 1.0)
        assert torch.allclose(w.mean(dim=(1, 2, 3)), torch.ones(3), atol=1e-5)
    w = uncertainty_weights(ls, "uncertainty", 1.0)
    for i in range(3):  # same order as the scale within each image
        assert torch.equal(torch.exp(ls[i]).flatten().argsort(), w[i].flatten().argsort())
    assert torch.equal(uncertainty_weights(ls, "uniform", 1.0), torch.ones_like(ls))
    assert torch.equal(uncertainty_weights(ls, "uncertainty", 0.0), torch.ones_like(ls))


def test_every_term_can_be_ablated():
    cfg = dict(DEFAULTS["loss"])
    out = {"alpha": torch.rand(2, 1, 32, 32), "log_scale": torch.zeros(2, 1, 32, 32)}
    t = torch.rand(2, 1, 32, 32)
    assert set(teacher_loss(out, t, cfg)) == {"nll", "l1", "laplacian", "total"}
    assert set(teacher_loss(out, t, {**cfg, "nll": 0, "laplacian": 0})) == {"l1", "total"}
    teacher = {"alpha": torch.rand(2, 1, 32, 32), "log_scale": torch.randn(2, 1, 32, 32)}
    terms = student_loss({"alpha": out["alpha"]}, t, teacher, cfg)
    assert set(terms) == {"gt", "distill", "laplacian", "total"}
    assert terms["total"].item() == pytest.approx(sum(terms[k].item() for k in ("gt", "distill", "laplacian")))
    assert set(student_loss({"alpha": out["alpha"]}, t, None, cfg)) == {"gt", "laplacian", "total"}


def test_hole_loss_counts_missing_face_inside_the_face_only():
    from facemat.losses import hole_loss, interior_mask

    target = torch.zeros(1, 1, 20, 20)
    target[..., 5:15, 5:15] = 1.0
    assert interior_mask(target, 1).sum() == 8 * 8
    alpha = target.clone()
    alpha[..., 9:11, 9:11] = 0.0  # a 2 x 2 hole in the middle of the face
    alpha[..., 0:3, 0:3] = 1.0  # a false positive outside: not a hole
    assert hole_loss(alpha, target, margin=1).item() == pytest.approx(4 / 64)
    edge = target.clone()
    edge[..., 5, 5:15] = 0.0  # a missing edge row lies outside the 1 px interior
    assert hole_loss(edge, target, margin=1).item() == 0.0
    assert hole_loss(alpha, torch.zeros_like(target), margin=1).item() == 0.0  # no face: nothing
    cfg = {**DEFAULTS["loss"], "hole": 2.0, "hole_margin": 1}
    out = {"alpha": alpha, "log_scale": torch.zeros_like(alpha)}
    assert teacher_loss(out, target, cfg)["hole"].item() == pytest.approx(2 * 4 / 64)
