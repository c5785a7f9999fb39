"""Read radiographs of the file formats found in landmark data sets.

Landmark sets ship images as 8-bit BMP/JPEG, 8- or 16-bit grayscale
PNG/TIFF, or MetaImage / NRRD / NIfTI (read by :mod:`.itk_io` through
SimpleITK); clinical radiographs come as DICOM (read by :mod:`.dicom_io`
with the standard's modality LUT, VOI windowing and MONOCHROME1 inversion).
The models consume 8-bit, 3-channel BGR arrays like every MMPose pipeline,
so :func:`read_medical_image` brings all of them to that form with one documented rule:

- 8-bit images keep their values;
- any other depth (16-bit, signed, float) is windowed to 8 bits by
  :func:`window_to_uint8`: the [0.5th, 99.5th] percentile range of the
  image's pixels is mapped linearly onto [0, 255], with clipping;
- grayscale is replicated to 3 channels, an alpha channel is dropped.

Errors always name the file: a missing file raises :class:`FileNotFoundError`
and an unreadable, corrupt or unsupported one raises :class:`ValueError`.

This module dispatches on the file to one backend each: :mod:`.raster_io`
(OpenCV), :mod:`.dicom_io` (pydicom) and :mod:`.itk_io` (SimpleITK); the
windowing rule they share is in :mod:`.windowing`.
"""
import os
from typing import Optional, Tuple

import numpy as np

from .dicom_io import DICOM_SUFFIXES, is_dicom, read_dicom, read_dicom_header
from .itk_io import ITK_SUFFIXES, is_itk_image, read_itk_image, read_itk_info
from .raster_io import RASTER_SUFFIXES, decode_raster
from .windowing import PathLike, to_bgr, window_to_uint8

#: File name endings of the images :func:`read_medical_image` reads (lower case).
IMAGE_SUFFIXES = RASTER_SUFFIXES + DICOM_SUFFIXES + ITK_SUFFIXES


def read_medical_image(path: PathLike) -> np.ndarray:
    """Read an image as an 8-bit, 3-channel BGR array.

    Args:
        path (str | PathLike): A PNG, TIFF, BMP or JPEG file (anything OpenCV
            decodes), a DICOM file, or a MetaImage (``.mha``, ``.mhd``), NRRD
            or NIfTI file.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 array in BGR order.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file cannot be decoded; the message names the file.
    """
    path = os.fspath(path)
    if is_dicom(path):
        return to_bgr(read_dicom(path)[0])
    if is_itk_image(path):
        img, _ = read_itk_image(path)
        if img.ndim == 3:
            img = img[..., 2::-1]  # ITK formats store RGB(A); drop alpha
    else:
        img = decode_raster(path)
    return to_bgr(window_to_uint8(img))


def read_image_size(path: PathLike) -> Tuple[int, int]:
    """Width and height of an image, as :func:`read_medical_image` sees it.

    MetaImage, NRRD and NIfTI sizes come from the header alone. Other
    formats are decoded,
    which keeps EXIF orientation consistent with the loader at the cost of
    one decode per call.

    Args:
        path (str | PathLike): Image file.

    Returns:
        tuple[int, int]: ``(width, height)`` in pixels.
    """
    path = os.fspath(path)
    if is_dicom(path):
        img = read_dicom(path)[0]  # decoding also proves the pixel data whole
        return int(img.shape[1]), int(img.shape[0])
    if is_itk_image(path):
        info = read_itk_info(path)
        return info.width, info.height
    img = decode_raster(path)
    return int(img.shape[1]), int(img.shape[0])


def read_header_spacing(path: PathLike) -> Tuple[Optional[Tuple[float, float]], Optional[str]]:
    """The pixel spacing (x, y) an image file states, and where it states it.

    DICOM: ``PixelSpacing`` else ``ImagerPixelSpacing`` (mm); MetaImage:
    ``ElementSpacing`` (or ``ElementSize``); NRRD: ``spacings`` or ``space
    directions``; NIfTI: ``pixdim``. Other formats state none.

    Returns:
        tuple: ``(spacing or None, tag name or None)``.
    """
    path = os.fspath(path)
    if is_dicom(path):
        header = read_dicom_header(path)
        return header['spacing'], header['spacing_tag']
    if is_itk_image(path):
        info = read_itk_info(path)
        return info.spacing, info.spacing_key
    return None, None
