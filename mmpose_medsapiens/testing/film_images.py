"""A 16-bit film-like image of any size, for image I/O measurements.

A smooth body of bone-like bands plus noise: PNG and zlib-compressed
MetaImage compress it about as they do a real film, which a flat or a purely
random image would not show.
"""
import numpy as np


def draw_film_like_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A 16-bit film-like image: a smooth body of bone-like bands plus noise.

    Args:
        height (int): Rows.
        width (int): Columns.
        seed (int): Seed of the noise. Defaults to 0.

    Returns:
        np.ndarray: ``uint16`` array of shape ``(height, width)``.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    body = 20000 + 15000 * np.exp(-((x - width / 2) / (0.18 * width)) ** 2)
    bands = 3000 * np.sin(y / (0.03 * height)) ** 2
    noise = rng.normal(0, 400, (height, width))
    return np.clip(body + bands + noise, 0, 65535).astype(np.uint16)
