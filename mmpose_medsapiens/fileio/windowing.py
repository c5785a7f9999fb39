"""The one rule that brings any pixel depth to 8 bits, shared by every reader.

It sits below the format backends (:mod:`.raster_io`, :mod:`.dicom_io`,
:mod:`.itk_io`) and the dispatcher (:mod:`.image_reader`), so each of them
imports it directly.
"""
import os
from typing import Union

import cv2
import numpy as np

PathLike = Union[str, os.PathLike]

#: Percentiles of an image's pixels mapped to 0 and 255 by the windowing.
WINDOW_PERCENTILES = (0.5, 99.5)


def window_to_uint8(img: np.ndarray) -> np.ndarray:
    """Bring an image to 8 bits by the documented windowing rule.

    uint8 input is returned unchanged. Otherwise, with ``lo`` and ``hi`` the
    :data:`WINDOW_PERCENTILES` (numpy's default linear interpolation) of the
    finite pixel values of the whole image (all channels together)::

        out = round(clip((img - lo) * 255 / (hi - lo), 0, 255))

    When ``hi == lo`` (e.g. a constant image) the map degenerates to a step:
    pixels ``<= lo`` give 0 and larger ones 255, so a constant image is all
    zeros. NaN gives 0, ``+inf`` 255 and ``-inf`` 0.

    Args:
        img (np.ndarray): Image of any numeric dtype.

    Returns:
        np.ndarray: uint8 array of the same shape.
    """
    if img.dtype == np.uint8:
        return img
    data = img.astype(np.float64)
    finite = np.isfinite(data)
    if not finite.any():
        return np.zeros(img.shape, dtype=np.uint8)
    lo, hi = np.percentile(data if finite.all() else data[finite], WINDOW_PERCENTILES)
    if hi > lo:
        out = (data - lo) * (255.0 / (hi - lo))
    else:
        out = np.where(data > lo, 255.0, 0.0)
    out = np.nan_to_num(out, nan=0.0, posinf=255.0, neginf=0.0)
    return np.rint(np.clip(out, 0.0, 255.0)).astype(np.uint8)


def to_bgr(img: np.ndarray) -> np.ndarray:
    """Gray to 3-channel BGR, alpha dropped, other arrays made contiguous."""
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        img = img[..., :3]
    return np.ascontiguousarray(img)
