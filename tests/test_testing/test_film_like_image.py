"""The film-like 16-bit image of the image I/O benchmark."""
import numpy as np

from mmpose_medsapiens.testing import draw_film_like_image


def test_the_image_is_film_like_16_bit_and_seeded():
    img = draw_film_like_image(46, 23)
    assert img.dtype.name == 'uint16' and img.shape == (46, 23)
    assert 0 < img.min() < img.max() < 65535
    np.testing.assert_array_equal(img, draw_film_like_image(46, 23))
    assert not np.array_equal(img, draw_film_like_image(46, 23, seed=1))
