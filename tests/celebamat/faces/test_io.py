import io

import numpy as np
import pytest
from PIL import Image

from celebamat.faces.io import ImageReadError, read_image, read_mask


def test_zero_byte_file_is_empty(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(ImageReadError) as e:
        read_image(p)
    assert e.value.reason == "empty file" and "empty.jpg" in str(e.value)


def test_text_file_named_jpg_is_unreadable(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("this is not a photo")
    with pytest.raises(ImageReadError) as e:
        read_image(p)
    assert e.value.reason == "unreadable file" and "notes.jpg" in str(e.value)


def test_truncated_jpeg_is_unreadable(tmp_path, astronaut):
    buf = io.BytesIO()
    Image.fromarray(astronaut).save(buf, "JPEG", quality=90)
    p = tmp_path / "cut.jpg"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageReadError) as e:
        read_image(p)
    assert e.value.reason == "unreadable file"


def test_missing_file_is_unreadable(tmp_path):
    with pytest.raises(ImageReadError) as e:
        read_image(tmp_path / "nope.png")
    assert e.value.reason == "unreadable file"


def test_grayscale_rgba_and_16bit(tmp_path):
    g = (np.arange(64 * 48) % 256).astype(np.uint8).reshape(48, 64)
    Image.fromarray(g).save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png")
    assert out.shape == (48, 64, 3) and out.dtype == np.uint8
    assert np.array_equal(out[..., 0], g) and np.array_equal(out[..., 2], g)

    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :6, 3] = 255  # left half opaque red, right half transparent
    Image.fromarray(rgba).save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png", background=(0, 0, 255))
    assert out.shape == (10, 12, 3)
    assert tuple(out[0, 0]) == (200, 0, 0) and tuple(out[0, -1]) == (0, 0, 255)

    v16 = np.full((8, 8), 65535, np.uint16)
    v16[:4] = 32768
    Image.fromarray(v16).save(tmp_path / "d.png")
    out = read_image(tmp_path / "d.png")
    assert out[-1, 0, 0] == 255 and abs(int(out[0, 0, 0]) - 128) <= 1


def test_exif_orientation_is_applied(tmp_path):
    img = np.zeros((20, 40, 3), np.uint8)
    img[:, :10] = 255  # white band on the left
    im = Image.fromarray(img)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    im.save(tmp_path / "r.jpg", exif=exif.tobytes(), quality=95)
    out = read_image(tmp_path / "r.jpg")
    assert out.shape == (40, 20, 3)
    assert out[:10].mean() > 200 and out[20:].mean() < 30  # the band is now on top


def test_verbatim_only_for_a_plain_rgb_jpeg_read_whole(tmp_path):
    img = (np.random.default_rng(0).random((24, 32, 3)) * 255).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "plain.jpg", quality=90)
    info = {}
    out = read_image(tmp_path / "plain.jpg", info=info)
    assert info["verbatim"] is True
    # the bytes decode to exactly what was returned
    again = np.asarray(Image.open(io.BytesIO((tmp_path / "plain.jpg").read_bytes())).convert("RGB"))
    np.testing.assert_array_equal(again, out)
    im = Image.fromarray(img)
    exif = im.getexif()
    exif[0x010F] = "a camera maker"  # any EXIF: it may be personal, so never passed on
    im.save(tmp_path / "exif.jpg", exif=exif.tobytes(), quality=90)
    im.save(tmp_path / "profile.jpg", icc_profile=b"\0" * 128, quality=90)
    Image.fromarray(img[..., 0]).save(tmp_path / "gray.jpg", quality=90)
    im.save(tmp_path / "lossless.png")
    for name in ("exif.jpg", "profile.jpg", "gray.jpg", "lossless.png"):
        info = {}
        read_image(tmp_path / name, info=info)
        assert info["verbatim"] is False, name


def test_read_mask(tmp_path):
    m = np.zeros((16, 16), np.uint8)
    m[4:8] = 255
    Image.fromarray(m).save(tmp_path / "m.png")
    out = read_mask(tmp_path / "m.png")
    assert out.dtype == np.float32 and out.shape == (16, 16)
    assert out[5].min() == 1.0 and out[0].max() == 0.0


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "LA", "P", "1"])
def test_a_colour_mask_reads_as_its_first_channel(tmp_path, mode):
    from celebamat.faces.io import read_mask_u8

    rng = np.random.default_rng(2)
    planes = (rng.random((20, 30, 4)) * 255).astype(np.uint8)
    planes[..., 0] = np.where(planes[..., 0] > 127, 255, 0)  # CelebAMask-HQ's part masks: 0/255, in RGB files
    im = Image.fromarray(planes, "RGBA")
    im = im.convert("RGB").convert(mode) if mode in ("P", "1") else Image.fromarray(planes[..., : len(mode)], mode)
    im.save(tmp_path / "m.png")
    expected = np.asarray(Image.open(tmp_path / "m.png").convert("RGB"))[..., 0]
    got = read_mask_u8(tmp_path / "m.png")
    assert got.shape == (20, 30) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, expected)


def test_plain_files_take_opencvs_decoder_and_give_pillows_pixels(tmp_path, astronaut):
    import cv2

    from celebamat.faces.io import _plain_pixels, read_mask_u8

    photo = astronaut[:300, 40:340]
    Image.fromarray(photo).save(tmp_path / "pil.jpg", quality=90)
    Image.fromarray(photo).save(tmp_path / "progressive.jpg", quality=80, progressive=True)
    Image.fromarray(photo).save(tmp_path / "444.jpg", quality=95, subsampling=0)
    cv2.imwrite(str(tmp_path / "cv2.jpg"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    for name in ("pil.jpg", "progressive.jpg", "444.jpg", "cv2.jpg"):
        assert _plain_pixels(tmp_path / name, gray=False) is not None, name  # the fast path was taken
        pillow = np.asarray(Image.open(tmp_path / name).convert("RGB"))
        np.testing.assert_array_equal(read_image(tmp_path / name), pillow, err_msg=name)
    mask = (np.random.default_rng(0).random((64, 48)) * 255).astype(np.uint8)
    Image.fromarray(mask).save(tmp_path / "m.png")
    assert _plain_pixels(tmp_path / "m.png", gray=True) is not None
    np.testing.assert_array_equal(read_mask_u8(tmp_path / "m.png"), mask)
    # A colour mask as CelebAMask-HQ ships them (white parts on black, RGB, Pillow's filters): its first band.
    parts = np.zeros((64, 48, 3), np.uint8)
    cv2.ellipse(parts, (24, 30), (15, 20), 0, 0, 360, (255, 255, 255), -1)
    parts[..., 1] = 7  # the first band is read, not a mix of the three
    Image.fromarray(parts).save(tmp_path / "part.png")
    assert _plain_pixels(tmp_path / "part.png", gray=True) is not None
    np.testing.assert_array_equal(read_mask_u8(tmp_path / "part.png"), parts[..., 0])


def test_files_that_are_not_plain_go_pillows_way(tmp_path, astronaut):
    from celebamat.faces.io import _plain_pixels

    im = Image.fromarray(astronaut[:64, :80])
    exif = im.getexif()
    exif[0x0112] = 6
    im.save(tmp_path / "rotated.jpg", exif=exif.tobytes())
    im.save(tmp_path / "profile.jpg", icc_profile=b"\0" * 128)
    im.convert("L").save(tmp_path / "gray.jpg")
    im.convert("CMYK").save(tmp_path / "cmyk.jpg")
    im.save(tmp_path / "rgb.png")
    buf = io.BytesIO()
    im.save(buf, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buf.getvalue()[:-200])
    for name in ("rotated.jpg", "profile.jpg", "gray.jpg", "cmyk.jpg", "rgb.png", "cut.jpg"):
        assert _plain_pixels(tmp_path / name, gray=False) is None, name
    im.convert("I;16").save(tmp_path / "deep.png")
    assert _plain_pixels(tmp_path / "deep.png", gray=True) is None  # 16 bits: scaled by Pillow's way
    assert _plain_pixels(tmp_path / "pil.jpg", gray=False) is None  # missing: Pillow's path names the error
    assert read_image(tmp_path / "rotated.jpg").shape == (80, 64, 3)  # the orientation is still applied
