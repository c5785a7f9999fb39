"""Read clinical radiographs stored as DICOM, with their pixel spacing.

Pixel values follow the display pipeline of the DICOM standard (PS3.3
C.11): the modality LUT (``RescaleSlope`` / ``RescaleIntercept`` or a Modality
LUT Sequence) first, then the VOI transform when the file has one
(``WindowCenter`` / ``WindowWidth`` with the standard's linear function, or a
VOI LUT Sequence), mapped onto 0..255. Without a VOI transform the package's
percentile rule (:func:`window_to_uint8`) applies. ``MONOCHROME1`` images
(white = low values) are inverted so that bone is bright as in every other
format. The spacing comes from ``PixelSpacing`` (patient plane), else
``ImagerPixelSpacing`` (detector plane), both stored as (row, column) and
returned as (x, y); which tag it came from is returned with it.
"""
import os
from typing import Optional, Tuple

import numpy as np

from .windowing import window_to_uint8

#: File name endings read as DICOM without looking inside (lower case).
DICOM_SUFFIXES = ('.dcm', '.dicom')

#: The tags the spacing is read from, in order of preference.
SPACING_TAGS = ('PixelSpacing', 'ImagerPixelSpacing')


def is_dicom(path: str) -> bool:
    """A ``.dcm`` / ``.dicom`` name, or the ``DICM`` marker after the preamble."""
    if os.path.splitext(path)[1].lower() in DICOM_SUFFIXES:
        return True
    try:
        with open(path, 'rb') as f:
            f.seek(128)
            return f.read(4) == b'DICM'
    except OSError:
        return False


def _dcmread(path: str, stop_before_pixels: bool = False):
    import pydicom
    from pydicom.errors import InvalidDicomError
    if not os.path.isfile(path):
        raise FileNotFoundError(f'Image file {path} does not exist')
    try:
        return pydicom.dcmread(path, stop_before_pixels=stop_before_pixels)
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError) as e:
        raise ValueError(f'DICOM file {path} cannot be read: {e}') from e


def _spacing(ds, path: str) -> Tuple[Optional[Tuple[float, float]], Optional[str]]:
    for tag in SPACING_TAGS:
        value = ds.get(tag)
        if value is None or len(value) == 0:
            continue
        try:
            row, col = (float(v) for v in value[:2])
        except (TypeError, ValueError) as e:
            raise ValueError(f'DICOM file {path}: unreadable {tag} {value!r} ({e})') from e
        if not (np.isfinite([row, col]).all() and row > 0 and col > 0):
            raise ValueError(f'DICOM file {path}: invalid {tag} {list(value)}')
        return (col, row), tag
    return None, None


def _size(ds, path: str) -> Tuple[int, int]:
    frames = int(ds.get('NumberOfFrames', 1) or 1)
    if frames != 1:
        raise ValueError(f'DICOM file {path} holds {frames} frames; give one radiograph per file')
    for tag in ('Rows', 'Columns'):
        if tag not in ds:
            raise ValueError(f'DICOM file {path} has no {tag} (not an image?)')
    return int(ds.Columns), int(ds.Rows)


def _read_image_dataset(path: str):
    """The whole file (pixel data included, not decoded), its width and height."""
    ds = _dcmread(path)
    width, height = _size(ds, path)
    if 'PixelData' not in ds:
        raise ValueError(f'DICOM file {path} has no pixel data')
    return ds, width, height


def read_dicom_header(path: str) -> dict:
    """``size`` (w, h), ``spacing`` (x, y) in mm or None, ``spacing_tag``, from the header."""
    path = os.fspath(path)
    ds = _dcmread(path, stop_before_pixels=True)
    spacing, tag = _spacing(ds, path)
    return dict(size=_size(ds, path), spacing=spacing, spacing_tag=tag)


def probe_dicom(path: str) -> Tuple[int, int]:
    """Check a DICOM file's structure without decoding it; return ``(w, h)``.

    pydicom parses every element (a file cut inside its header or its
    pixel data element fails to parse); for uncompressed transfer syntaxes
    the pixel data must also hold ``Rows x Columns x SamplesPerPixel`` values
    of ``BitsAllocated`` bits. The windowing and LUTs are not applied, so the
    check costs file I/O only. Damage inside compressed pixel data is found
    by the datasets' ``check_images='decode'``.

    Args:
        path (str): DICOM file.

    Returns:
        tuple[int, int]: ``(width, height)`` in pixels.

    Raises:
        ValueError: The file cannot be parsed, has no pixel data, or its
            pixel data are shorter than its header says.
    """
    path = os.fspath(path)
    ds, width, height = _read_image_dataset(path)
    syntax = getattr(getattr(ds, 'file_meta', None), 'TransferSyntaxUID', None)
    if syntax is None or not syntax.is_compressed:
        bits = int(ds.get('BitsAllocated', 8) or 8)
        samples = int(ds.get('SamplesPerPixel', 1) or 1)
        expected = (width * height * samples * bits + 7) // 8
        actual = len(ds.PixelData)
        if actual < expected:
            raise ValueError(f'DICOM file {path} is truncated: its pixel data hold {actual} '
                             f'bytes, {width}x{height}x{samples} values of {bits} bits need '
                             f'{expected}')
    elif not ds.PixelData:
        raise ValueError(f'DICOM file {path} has empty pixel data')
    return width, height


def read_dicom(path: str) -> Tuple[np.ndarray, Optional[Tuple[float, float]], Optional[str]]:
    """Read a DICOM radiograph as displayed, in 8 bits.

    Returns:
        tuple: ``(img, spacing, spacing_tag)``: ``img`` is ``(H, W)`` uint8
        (grayscale) or ``(H, W, 3)`` uint8 BGR (colour files); ``spacing`` is
        (x, y) in mm or None; ``spacing_tag`` names the tag it came from.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Unreadable, truncated, multi-frame, or pixel data that
            cannot be decoded; the message names the file.
    """
    from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi_lut

    path = os.fspath(path)
    ds, width, height = _read_image_dataset(path)
    spacing, tag = _spacing(ds, path)
    try:
        pixels = ds.pixel_array
    except Exception as e:  # noqa: BLE001 - pydicom raises many types here
        raise ValueError(f'DICOM file {path}: pixel data cannot be decoded '
                         f'(truncated, or a compression without a decoder installed): {e}') from e
    if pixels.shape[:2] != (height, width):
        raise ValueError(f'DICOM file {path}: pixel data is {pixels.shape} but Rows x Columns '
                         f'is {height} x {width}')
    photometric = str(ds.get('PhotometricInterpretation', 'MONOCHROME2')).upper()
    if int(ds.get('SamplesPerPixel', 1)) == 3:
        rgb = pixels if pixels.dtype == np.uint8 else window_to_uint8(pixels)
        return np.ascontiguousarray(rgb[..., ::-1]), spacing, tag
    values = apply_modality_lut(pixels, ds).astype(np.float64)
    if 'WindowCenter' in ds and 'WindowWidth' in ds:
        img = _linear_window(values, _first(ds.WindowCenter), _first(ds.WindowWidth), path)
    elif 'VOILUTSequence' in ds:
        lut = ds.VOILUTSequence[0]
        out_bits = int(lut.LUTDescriptor[2])
        shown = apply_voi_lut(values, ds).astype(np.float64)
        img = np.rint(np.clip(shown / (2 ** out_bits - 1), 0, 1) * 255).astype(np.uint8)
    else:
        img = window_to_uint8(values)
    if photometric == 'MONOCHROME1':
        img = 255 - img
    return img, spacing, tag


def _first(value) -> float:
    # Multi-valued window attributes list alternatives; the first is the default.
    try:
        return float(value[0])
    except TypeError:
        return float(value)


def _linear_window(values: np.ndarray, center: float, width: float, path: str) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 linear VOI function onto 0..255."""
    if width < 1:
        raise ValueError(f'DICOM file {path}: WindowWidth {width} is below 1')
    lo = center - 0.5 - (width - 1) / 2
    out = ((values - (center - 0.5)) / max(width - 1, 1e-9) + 0.5) * 255.0
    out = np.where(values <= lo, 0.0, out)
    out = np.where(values > center - 0.5 + (width - 1) / 2, 255.0, out)
    return np.rint(np.clip(out, 0.0, 255.0)).astype(np.uint8)
