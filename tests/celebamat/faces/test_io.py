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
