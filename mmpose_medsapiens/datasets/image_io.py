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

JPEG EXIF orientation is applied as OpenCV (and so MMPose's ``LoadImage``)
applies it, so sizes and coordinates agree with the stock loader.
"""
import os
import os.path as osp
from typing import Optional, Tuple, Union

import cv2
import numpy as np

from .dicom_io import is_dicom, read_dicom, read_dicom_header
from .itk_io import ITK_SUFFIXES, is_itk_image, read_itk_image, read_itk_info

PathLike = Union[str, os.PathLike]

#: File name endings of the images :func:`read_medical_image` reads (lower case).
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.dcm', '.dicom') + ITK_SUFFIXES

#: Percentiles of an image's pixels mapped to 0 and 255 by the windowing.
WINDOW_PERCENTILES = (0.5, 99.5)

# Keep the channel flag loose (gray stays gray, alpha is dropped) and the bit
# depth intact; EXIF orientation is applied as with cv2.IMREAD_COLOR.
_CV2_FLAGS = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR


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
        return _to_bgr(read_dicom(path)[0])
    if is_itk_image(path):
        img, _ = read_itk_image(path)
        if img.ndim == 3:
            img = img[..., 2::-1]  # ITK formats store RGB(A); drop alpha
    else:
        img = _decode(path)
    return _to_bgr(window_to_uint8(img))


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
    img = _decode(path)
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


# ------------------------------------------------------------------ helpers
def _check_file(path: str):
    if not osp.isfile(path):
        raise FileNotFoundError(f'Image file {path} does not exist')


def _decode(path: str) -> np.ndarray:
    """Decode a PNG/TIFF/BMP/JPEG file with OpenCV, keeping its bit depth."""
    _check_file(path)
    # np.fromfile + imdecode also copes with non-ASCII paths.
    buf = np.fromfile(path, dtype=np.uint8)
    if buf.size == 0:
        raise ValueError(f'Image file {path} is empty')
    try:
        img = cv2.imdecode(buf, _CV2_FLAGS)
    except cv2.error as e:
        raise ValueError(f'Image file {path} cannot be decoded: {e}') from e
    if img is None:
        raise ValueError(f'Image file {path} cannot be decoded (corrupt, or not a '
                         'PNG/TIFF/BMP/JPEG file)')
    return img


def _to_bgr(img: np.ndarray) -> np.ndarray:
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        img = img[..., :3]
    return np.ascontiguousarray(img)


