import pytest
import torch

from facemat.augment import augment_pair, jpeg_like, sample_side_light, side_light
from facemat.config import DEFAULTS
from facemat.data import DataError, EpochSampler, MattingDataset, load_split, make_loader, sample_generator


def test_reads_published_format(tiny_dataset):
    ds = load_split(str(tiny_dataset), "train")
    assert len(ds) == 32 and ds.column_names == ["image", "alpha"]
    sample = MattingDataset(ds, 64)[0]
    assert sample["image"].shape == (3, 64, 64) and sample["alpha"].shape == (1, 64, 64)
    a = sample["alpha"]
    assert a.max() == 1.0 and a.min() == 0.0 and ((a > 0) & (a < 1)).any()  # 8-bit /255, soft edges kept


def test_missing_folder_and_split_are_clear(tiny_dataset, tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_split(str(tmp_path / "nope"), "train")
    with pytest.raises(DataError, match="no dataset"):
        load_split("", "train")


def test_augmentation_is_seeded_and_geometry_shared(tiny_dataset):
    ds = load_split(str(tiny_dataset), "train")
    cfg = dict(DEFAULTS["augment"], flip=1.0, affine=1.0, color=0.0, blur=0.0, noise=0.0, jpeg=0.0)
    md = MattingDataset(ds, 64, cfg, seed=3)
    a, b = md[5], md[5]
    assert torch.equal(a["image"], b["image"]) and torch.equal(a["alpha"], b["alpha"])
    md.set_epoch(1)
    assert not torch.equal(md[5]["alpha"], a["alpha"])
    # Same geometry on both: warp a copy of the alpha as the image and compare with the warped alpha.
    _, alpha = MattingDataset(ds, 64)[5]["image"], MattingDataset(ds, 64)[5]["alpha"]
    img_out, alpha_out = augment_pair(alpha.repeat(3, 1, 1), alpha, sample_generator(1, 2), cfg, 64)
    assert torch.allclose(img_out[0:1], alpha_out, atol=1e-6)


def test_photometric_changes_image_only():
    gen = sample_generator(0)
    cfg = dict(DEFAULTS["augment"], flip=0.0, affine=0.0, color=1.0, blur=1.0, noise=1.0, jpeg=1.0)
    image, alpha = torch.rand(3, 32, 32), (torch.rand(1, 32, 32) > 0.5).float()
    img2, alpha2 = augment_pair(image, alpha, gen, cfg, 32)
    assert torch.equal(alpha2, alpha) and not torch.allclose(img2, image)
    assert 0 <= img2.min() and img2.max() <= 1


def test_jpeg_like_quality_orders_error():
    x = torch.rand(3, 32, 32)
    assert (jpeg_like(x, 20) - x).abs().mean() > (jpeg_like(x, 95) - x).abs().mean() > 0
    smooth = torch.full((3, 16, 16), 0.5)
    assert torch.allclose(jpeg_like(smooth, 50), smooth, atol=2 / 255)


def test_sampler_resume_and_loader_batches(tiny_dataset):
    s = EpochSampler(10, seed=1)
    s.set_epoch(2)
    full = list(s)
    s.set_epoch(2, start=4)
    assert list(s) == full[4:] and sorted(full) == list(range(10))
    md = MattingDataset(load_split(str(tiny_dataset), "train"), 64, DEFAULTS["augment"], 0)
    batch = next(iter(make_loader(md, 4, 2, EpochSampler(len(md), 0))))
    assert batch["image"].shape == (4, 3, 64, 64) and batch["alpha"].shape == (4, 1, 64, 64)


def test_side_light_shades_one_side_and_keeps_the_other():
    image = torch.full((3, 32, 64), 0.5)
    out = side_light(image, angle=0.0, offset=0.0, width=0.2, strength=0.6, tint=[0.0, 0.0, 0.0])
    assert out.shape == image.shape
    # angle 0 runs left to right: the left edge keeps its light, the right edge loses 60 %.
    assert torch.allclose(out[..., 0], image[..., 0], atol=1e-3)
    assert torch.allclose(out[..., -1], image[..., -1] * 0.4, atol=1e-3)
    assert (out[..., 1:] <= out[..., :-1] + 1e-6).all()  # monotone across the terminator
    tinted = side_light(image, angle=0.0, offset=0.0, width=0.2, strength=0.0, tint=[0.1, 0.0, -0.1])
    assert tinted[0, :, 0].mean() > 0.5 > tinted[2, :, 0].mean()  # the lit side warms
    assert torch.allclose(tinted.mean(0), image.mean(0), atol=1e-6)  # a mean-free tint keeps the light


def test_side_light_is_drawn_from_the_generator_and_never_touches_alpha():
    cfg = dict(DEFAULTS["augment"], flip=0.0, affine=0.0, color=0.0, blur=0.0, noise=0.0, jpeg=0.0)
    image, alpha = torch.rand(3, 32, 32), (torch.rand(1, 32, 32) > 0.5).float()
    off = augment_pair(image, alpha, sample_generator(4), cfg, 32)
    assert torch.equal(off[0], image)  # probability 0, the default: unchanged
    cfg["side_light"] = 1.0
    a = augment_pair(image, alpha, sample_generator(4), cfg, 32)
    b = augment_pair(image, alpha, sample_generator(4), cfg, 32)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], alpha) and not torch.allclose(a[0], image)
    params = sample_side_light(sample_generator(4), cfg)
    lo, hi = cfg["side_light_strength"]
    assert lo <= params["strength"] <= hi and len(params["tint"]) == 3
