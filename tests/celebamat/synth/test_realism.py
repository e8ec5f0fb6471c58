import cv2
import numpy as np
import pytest

from celebamat.synth import realism


def test_noise_is_seeded_unbiased_and_scaled():
    img = np.full((64, 64, 3), 0.5, np.float32)
    a = realism.add_noise(img, 4.0, np.random.default_rng([1, 1]))
    b = realism.add_noise(img, 4.0, np.random.default_rng([1, 1]))
    c = realism.add_noise(img, 4.0, np.random.default_rng([2, 1]))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    d = (a - img) * 255.0
    expected = 4.0 * (0.6 + 0.8 * np.sqrt(0.5))
    assert abs(d.mean()) < 0.15 and d.std() == pytest.approx(expected, rel=0.05)
    assert realism.add_noise(img, 0.0, np.random.default_rng(0)) is img


@pytest.mark.parametrize("shape", [(150, 70, 3), (64, 64, 3), (1, 5, 3)])
def test_noise_in_strips_equals_one_pass_and_its_8_bit_form(monkeypatch, shape):
    img = np.random.default_rng(3).random(shape).astype(np.float32)
    strips = realism.add_noise(img, 6.0, np.random.default_rng([4, 1]))
    strips_u8 = realism.add_noise(img, 6.0, np.random.default_rng([4, 1]), as_uint8=True)
    monkeypatch.setattr(realism, "NOISE_STRIP_ROWS", shape[0])  # the whole frame in one pass
    whole = realism.add_noise(img, 6.0, np.random.default_rng([4, 1]))
    np.testing.assert_array_equal(strips, whole)
    assert strips_u8.dtype == np.uint8
    np.testing.assert_array_equal(strips_u8, np.rint(np.float32(255.0) * whole).astype(np.uint8))
    np.testing.assert_array_equal(realism.add_noise(img, 0.0, np.random.default_rng(0), as_uint8=True),
                                  np.rint(np.float32(255.0) * img).astype(np.uint8))


def test_tone_transfer_moves_the_colour_towards_the_target():
    rgb = np.zeros((32, 32, 3), np.float32) + np.array([0.45, 0.3, 0.25], np.float32)
    alpha = np.ones((32, 32), np.float32)
    target = cv2.cvtColor(np.array([[[0.8, 0.6, 0.5]]], np.float32), cv2.COLOR_RGB2Lab)[0, 0]
    src = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[0, 0]
    out = cv2.cvtColor(realism.tone_transfer(rgb, alpha, target, 0.5), cv2.COLOR_RGB2Lab)[0, 0]
    # half-way in chroma, 30 % in lightness (60 % of the strength)
    np.testing.assert_allclose(out[1:], src[1:] + 0.5 * (target[1:] - src[1:]), atol=0.5)
    assert out[0] == pytest.approx(src[0] + 0.3 * (target[0] - src[0]), abs=0.5)
    assert realism.tone_transfer(rgb, alpha, target, 0.0) is rgb


def test_motion_kernel_is_normalised_and_oriented():
    k = realism.motion_kernel(9.0, 0.0)
    assert k.sum() == pytest.approx(1.0) and k.shape[0] % 2 == 1
    assert k[k.shape[0] // 2].sum() == pytest.approx(1.0)  # horizontal: all weight on the middle row


@pytest.mark.parametrize("shape", [(1, 1, 4), (3, 2, 4), (9, 70, 4), (70, 9), (64, 48, 4)])
@pytest.mark.parametrize("length, angle", [(4.0, 30.0), (11.0, 90.0), (12.0, 0.0), (17.3, 45.0), (33.0, 133.0)])
def test_motion_blur_is_the_whole_kernel_convolved_with_reflected_borders(shape, length, angle):
    img = np.random.default_rng(3).random(shape, dtype=np.float32)
    kernel = realism.motion_kernel(length, angle)
    out = realism.motion_blur(img, length, angle)
    assert out.shape == img.shape and out.dtype == np.float32
    # Against the exact (float64) convolution of the whole kernel: long kernels run as blocks of at most
    # 11 x 11, which must add up to it, borders included.
    exact = cv2.filter2D(img.astype(np.float64), -1, kernel.astype(np.float64), borderType=cv2.BORDER_REFLECT101)
    np.testing.assert_allclose(out, exact, atol=1e-6)
    if kernel.shape[0] <= realism.DIRECT_KERNEL_SIDE:  # short kernels: one direct call, bytes as before
        np.testing.assert_array_equal(out, cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REFLECT101))
    assert realism.motion_blur(img, 0.0, angle) is img


def test_cast_shadow_is_offset_soft_and_bounded():
    a = np.zeros((40, 40), np.float32)
    a[10:20, 10:20] = 1.0
    s = realism.cast_shadow(a, (5.0, 0.0), 1.0, 0.4)
    assert s.max() <= 0.4 + 1e-6 and s[15, 22] > 0.3 and s[15, 5] < 1e-3
    box, roi = realism.cast_shadow_roi(a[10:20, 10:20], (10, 10, 20, 20), 40, (5.0, 0.0), 1.0, 0.4)
    full = np.zeros_like(s)
    full[box[1]:box[3], box[0]:box[2]] = roi
    np.testing.assert_allclose(full, s, atol=1e-6)


def test_jpeg_roundtrip_changes_little_and_zero_means_none():
    img = np.dstack([np.tile(np.linspace(60, 200, 32), (32, 1))] * 3).astype(np.uint8)
    out = realism.jpeg_roundtrip(img, 90)
    assert out.shape == img.shape and np.abs(out.astype(int) - img).mean() < 3
    assert realism.jpeg_roundtrip(img, 0) is img


def test_wide_shadow_blur_at_low_resolution_matches_the_full_one():
    import cv2

    a = np.zeros((200, 200), np.float32)
    cv2.circle(a, (90, 100), 40, 1.0, -1)
    fast = realism.cast_shadow(a, (12.0, 7.0), 14.0, 0.3)
    m = np.float32([[1, 0, 12.0], [0, 1, 7.0]])
    exact = np.clip(realism.gaussian(cv2.warpAffine(a, m, (200, 200)), 14.0) * 0.3, 0, 1)
    assert fast.shape == exact.shape and fast.dtype == np.float32
    assert np.abs(fast - exact).max() < 0.01 * 0.3 * 3  # under 1 % of full darkness, mostly far less
    assert np.abs(fast - exact).mean() < 0.001


@pytest.mark.parametrize("side", [1024, 512, 200, 130])  # by 8 and by 4 (halvings), and not a power of 2
def test_reading_copy_is_the_area_average(side):
    rng = np.random.default_rng(side)
    image = rng.random((side, side, 3), dtype=np.float32)
    skin = (rng.random((side, side)) > 0.4).astype(np.float32)
    small, small_skin = realism.reading_copy(image, skin)
    n = max(32, min(realism.READING_SIDE, side // 4))
    assert small.shape == (n, n, 3) and small.dtype == np.float32 and small_skin.shape == (n, n)
    np.testing.assert_allclose(small, cv2.resize(image, (n, n), interpolation=cv2.INTER_AREA), atol=2e-7)
    np.testing.assert_allclose(small_skin, cv2.resize(skin, (n, n), interpolation=cv2.INTER_AREA), atol=2e-7)
    if side % n == 0:  # the k x k means themselves
        k = side // n
        np.testing.assert_allclose(small, image.reshape(n, k, n, k, 3).mean((1, 3)), atol=3e-7)
    assert realism.reading_copy(image)[1] is None
