import pytest
import torch

from facemat.augment import augment_pair, jpeg_like
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
