"""Read radiographs of the file formats found in landmark data sets.

Landmark sets ship images as 8-bit BMP/JPEG, 8- or 16-bit grayscale
PNG/TIFF, or uncompressed MetaImage (``.mha``); clinical radiographs come as
DICOM (read by :mod:`.dicom_io` with the standard's modality LUT, VOI
windowing and MONOCHROME1 inversion). The models consume 8-bit,
3-channel BGR arrays like every MMPose pipeline, so :func:`read_medical_image`
brings all of them to that form with one documented rule:

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
from typing import Dict, Optional, Tuple, Union

import cv2
import numpy as np

from .dicom_io import is_dicom, read_dicom, read_dicom_header

PathLike = Union[str, os.PathLike]

#: Percentiles of an image's pixels mapped to 0 and 255 by the windowing.
WINDOW_PERCENTILES = (0.5, 99.5)

#: MetaImage ``ElementType`` -> numpy type (without byte order).
MHA_ELEMENT_TYPES = {
    'MET_UCHAR': 'u1',
    'MET_CHAR': 'i1',
    'MET_USHORT': 'u2',
    'MET_SHORT': 'i2',
    'MET_UINT': 'u4',
    'MET_INT': 'i4',
    'MET_FLOAT': 'f4',
    'MET_DOUBLE': 'f8',
}

# A MetaImage header is a few hundred bytes; a file whose first 64 KiB hold no
# ``ElementDataFile`` line is not one (and must not be scanned to the end).
_MHA_MAX_HEADER_BYTES = 1 << 16
# Keep the channel flag loose (gray stays gray, alpha is dropped) and the bit
# depth intact; EXIF orientation is applied as with cv2.IMREAD_COLOR.
_CV2_FLAGS = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR


def read_medical_image(path: PathLike) -> np.ndarray:
    """Read an image as an 8-bit, 3-channel BGR array.

    Args:
        path (str | PathLike): A PNG, TIFF, BMP or JPEG file (anything OpenCV
            decodes), or an uncompressed MetaImage ``.mha`` file.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 array in BGR order.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file cannot be decoded; the message names the file.
    """
    path = os.fspath(path)
    if is_dicom(path):
        return _to_bgr(read_dicom(path)[0])
    if _is_mha(path):
        img, _ = read_mha(path)
        if img.ndim == 3:
            img = img[..., 2::-1]  # MetaImage stores RGB(A); drop alpha
    else:
        img = _decode(path)
    return _to_bgr(window_to_uint8(img))


def read_image_size(path: PathLike) -> Tuple[int, int]:
    """Width and height of an image, as :func:`read_medical_image` sees it.

    MetaImage sizes come from the header alone. Other formats are decoded,
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
    if _is_mha(path):
        layout = _mha_layout(path)
        return layout['width'], layout['height']
    img = _decode(path)
    return int(img.shape[1]), int(img.shape[0])


def read_header_spacing(path: PathLike) -> Tuple[Optional[Tuple[float, float]], Optional[str]]:
    """The pixel spacing (x, y) an image file states, and where it states it.

    DICOM: ``PixelSpacing`` else ``ImagerPixelSpacing`` (mm); MetaImage:
    ``ElementSpacing``. Other formats state none.

    Returns:
        tuple: ``(spacing or None, tag name or None)``.
    """
    path = os.fspath(path)
    if is_dicom(path):
        header = read_dicom_header(path)
        return header['spacing'], header['spacing_tag']
    if _is_mha(path):
        spacing = _mha_layout(path).get('spacing')
        return (spacing, 'ElementSpacing') if spacing is not None else (None, None)
    return None, None


def read_mha(path: PathLike) -> Tuple[np.ndarray, Optional[Tuple[float, float]]]:
    """Read a 2D uncompressed MetaImage file with its pixel spacing.

    The header is ``Key = Value`` text lines ending with
    ``ElementDataFile = LOCAL``; the raw pixels follow. Supported: element
    types :data:`MHA_ELEMENT_TYPES`, ``DimSize = X Y`` or ``X Y 1``,
    ``ElementNumberOfChannels`` 1, 3 or 4, either byte order
    (``BinaryDataByteOrderMSB`` / ``ElementByteOrderMSB``) and
    ``HeaderSize`` (as in MetaIO: a positive value is the byte offset of the
    pixels in the file, ``-1`` means the pixels are the last bytes of it).

    Args:
        path (str | PathLike): The ``.mha`` file.

    Returns:
        tuple: The pixels as stored, ``(H, W)`` or ``(H, W, C)`` in native
        byte order (not windowed), and the ``(x, y)`` spacing from
        ``ElementSpacing`` (or ``ElementSize``), or ``None`` if the header
        has neither.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Not a supported MetaImage (compressed, 3D, detached data,
            unknown type, truncated pixel data...); the message names the file.
    """
    path = os.fspath(path)
    layout = _mha_layout(path)
    dtype = layout['dtype']
    count = layout['height'] * layout['width'] * layout['channels']
    with open(path, 'rb') as f:
        f.seek(layout['offset'])
        raw = f.read(count * dtype.itemsize)
    img = np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder('='))
    shape = (layout['height'], layout['width'])
    if layout['channels'] > 1:
        shape += (layout['channels'], )
    return img.reshape(shape), layout['spacing']


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
def _is_mha(path: str) -> bool:
    return osp.splitext(path)[1].lower() == '.mha'


def _check_file(path: str):
    if not osp.isfile(path):
        raise FileNotFoundError(f'Image file {path} does not exist')


def _decode(path: str) -> np.ndarray:
    """Decode a non-MetaImage file with OpenCV, keeping its bit depth."""
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
                         'PNG/TIFF/BMP/JPEG/MetaImage file)')
    return img


def _to_bgr(img: np.ndarray) -> np.ndarray:
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        img = img[..., :3]
    return np.ascontiguousarray(img)


def _read_mha_header(path: str) -> Tuple[Dict[str, str], int]:
    """Header fields in file order, and the offset just after the header."""
    _check_file(path)
    fields = {}
    with open(path, 'rb') as f:
        while True:
            line = f.readline(_MHA_MAX_HEADER_BYTES)
            if not line or f.tell() > _MHA_MAX_HEADER_BYTES:
                raise ValueError(f'MetaImage file {path}: no "ElementDataFile" line in the '
                                 'header (truncated, or not a MetaImage file)')
            text = line.decode('latin-1').strip()
            if not text:
                continue
            key, sep, value = text.partition('=')
            if not sep or not key.strip():
                raise ValueError(f'MetaImage file {path}: the header ends without an '
                                 f'"ElementDataFile" line ({text[:40]!r} is not "Key = Value"; '
                                 'not a MetaImage file?)')
            fields[key.strip()] = value.strip()
            if key.strip() == 'ElementDataFile':
                return fields, f.tell()


def _mha_layout(path: str) -> dict:
    """Check a MetaImage header and locate its pixels."""
    fields, header_end = _read_mha_header(path)

    def fail(message):
        raise ValueError(f'MetaImage file {path}: {message}')

    def ints(key):
        try:
            values = [int(v) for v in fields[key].split()]
        except ValueError:
            values = []
        if not values:
            fail(f'{key} = {fields[key]!r} is not a list of integers')
        return values

    if _is_true(fields.get('CompressedData', 'False')):
        fail('compressed pixel data (CompressedData = True) is not supported; save it '
             'uncompressed, e.g. SimpleITK.WriteImage(image, path, useCompression=False)')
    if not _is_true(fields.get('BinaryData', 'True')):
        fail('ASCII pixel data (BinaryData = False) is not supported')
    if fields['ElementDataFile'].upper() != 'LOCAL':
        fail(f'pixel data in a separate file (ElementDataFile = '
             f'{fields["ElementDataFile"]}) is not supported; only LOCAL')
    if 'DimSize' not in fields:
        fail('header has no DimSize')
    dims = ints('DimSize')
    ndims = ints('NDims')[0] if 'NDims' in fields else len(dims)
    if len(dims) != ndims or ndims not in (2, 3) or (ndims == 3 and dims[2] != 1):
        fail(f'only 2D images are supported (NDims = {ndims}, DimSize = {fields["DimSize"]})')
    width, height = dims[:2]
    if width <= 0 or height <= 0:
        fail(f'invalid DimSize = {fields["DimSize"]}')
    element_type = fields.get('ElementType')
    if element_type not in MHA_ELEMENT_TYPES:
        fail(f'ElementType = {element_type} is not supported (supported: '
             f'{", ".join(MHA_ELEMENT_TYPES)})')
    channels = ints('ElementNumberOfChannels')[0] if 'ElementNumberOfChannels' in fields else 1
    if channels not in (1, 3, 4):
        fail(f'ElementNumberOfChannels = {channels} is not supported (1, 3 or 4)')

    # Both keys set the same flag in MetaIO; the last one written wins.
    msb = False
    for key, value in fields.items():
        if key in ('BinaryDataByteOrderMSB', 'ElementByteOrderMSB'):
            msb = _is_true(value)
    dtype = np.dtype(('>' if msb else '<') + MHA_ELEMENT_TYPES[element_type])

    nbytes = width * height * channels * dtype.itemsize
    file_size = osp.getsize(path)
    header_size = ints('HeaderSize')[0] if 'HeaderSize' in fields else 0
    if header_size == -1:
        offset = file_size - nbytes
    elif header_size > 0:
        offset = header_size
    elif header_size == 0:
        offset = header_end
    else:
        fail(f'invalid HeaderSize = {header_size}')
    if offset < 0 or file_size - offset < nbytes:
        fail(f'pixel data truncated: {width}x{height}x{channels} {element_type} needs '
             f'{nbytes} bytes, the file has {max(file_size - max(offset, 0), 0)} after the '
             'header')

    spacing = None
    for key in ('ElementSpacing', 'ElementSize'):
        if key in fields:
            try:
                values = [float(v) for v in fields[key].split()]
            except ValueError:
                fail(f'{key} = {fields[key]!r} is not a list of numbers')
            if len(values) < 2:
                fail(f'{key} = {fields[key]!r} has fewer than 2 values')
            spacing = (values[0], values[1])
            break
    return dict(width=width, height=height, channels=channels, dtype=dtype, offset=offset,
                spacing=spacing)


def _is_true(value: str) -> bool:
    return value.strip().lower() in ('true', '1', 'yes')
