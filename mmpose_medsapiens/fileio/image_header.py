"""Cheap structural check of image files, for datasets to run at build time.

Decoding every radiograph of a set when a dataset is built would take
minutes (a 16-bit full-leg PNG alone takes ~0.4 s), yet a truncated or
corrupt file should be reported then, not mid-epoch. :func:`probe_image`
asks the libraries that know the formats for as little as proves the file
whole:

- PNG: signature, ``IHDR``, and the chunk chain walked from header to
  header up to an ``IEND`` that ends the file (a truncated or spliced file
  breaks the chain);
- JPEG: Pillow reads the frame header (size) and the EXIF orientation
  (OpenCV turns those images on load); the end-of-image marker must close
  the file, which Pillow does not check before decoding;
- BMP and TIFF (classic, either byte order): their headers, and that the
  pixel rows (BMP) or strips/tiles (TIFF) lie inside the file. This part is
  written here because Pillow reads these formats lazily and its decoders
  accept a file cut short by a few bytes;
- DICOM: its header, and that the pixel data fit in the file;
- MetaImage, NRRD, NIfTI: read in full by SimpleITK, whose header read does
  not notice a truncated file. Raw pixels cost little to read: 8 ms for a
  21 MB 16-bit MetaImage (76 ms zlib-compressed) against 11 ms for the PNG
  chain walk, measured by ``tools/benchmarks/image_probe_cost.py``.

Anything else is decoded in full by OpenCV. What the check
cannot see is damage *inside* compressed data of the right length;
``check_images='decode'`` of the datasets decodes every image for that.
"""
import os
import os.path as osp
import struct
from typing import Dict, Tuple

from PIL import Image

from .dicom_io import is_dicom, probe_dicom
from .image_reader import read_image_size
from .itk_io import is_itk_image, read_itk_image
from .windowing import PathLike

# Bytes searched for the JPEG end marker: some writers pad after it.
_JPEG_TAIL_BYTES = 1024
# EXIF orientations that OpenCV applies as a 90-degree turn (width <-> height).
_TRANSPOSED_ORIENTATIONS = {5, 6, 7, 8}
_EXIF_ORIENTATION = 0x0112
# Magic bytes of the formats checked here; a file that starts with one and
# that Pillow cannot open is corrupt, not of another format.
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_MAGIC = {_PNG_SIGNATURE: 'PNG', b'\xff\xd8\xff': 'JPEG', b'BM': 'BMP',
          b'II*\x00': 'TIFF', b'MM\x00*': 'TIFF'}
# TIFF field types -> (struct code, size) of the integer types decoded here...
_TIFF_TYPES = {1: ('B', 1), 3: ('H', 2), 4: ('I', 4), 16: ('Q', 8)}
# ...and the size of every type, so that all values can be located.
_TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8,
                    13: 4, 16: 8, 17: 8, 18: 8}
_TIFF_TAGS = dict(width=256, height=257, strip_offsets=273, strip_counts=279,
                  tile_offsets=324, tile_counts=325)


def probe_image(path: PathLike) -> Tuple[int, int]:
    """Check an image file's structure and return its ``(width, height)``.

    The size is the one :func:`read_medical_image` will return (JPEG EXIF
    rotations included).

    Args:
        path (str | PathLike): Image file.

    Returns:
        tuple[int, int]: ``(width, height)`` in pixels.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is truncated, corrupt or not an image; the
            message names the file and what is wrong.
    """
    path = os.fspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'Image file {path} does not exist')
    if is_itk_image(path):
        img = read_itk_image(path)[0]  # SimpleITK's header read misses truncation
        return int(img.shape[1]), int(img.shape[0])
    if is_dicom(path):
        return probe_dicom(path)
    size = osp.getsize(path)
    if size == 0:
        raise ValueError(f'Image file {path} is empty')
    with open(path, 'rb') as f:
        head = f.read(16)
        kind = next((k for magic, k in _MAGIC.items() if head.startswith(magic)), None)
        if kind is None:
            return read_image_size(path)  # no structural check for this format: decode it
        f.seek(0)
        try:
            if kind != 'JPEG':
                return dict(PNG=_probe_png, BMP=_probe_bmp, TIFF=_probe_tiff)[kind](f, size)
            return _probe_jpeg(Image.open(f, formats=['JPEG']), f, size)
        except (OSError, SyntaxError, ValueError, EOFError, struct.error, _Corrupt) as e:
            # UnidentifiedImageError is an OSError: the magic says what it should be.
            raise ValueError(f'Image file {path} is corrupt or truncated: {e}') from None


# PNG: walked here rather than with Pillow's verify(), which also checks every
# chunk's CRC: three times the cost on a 21 MB full-leg film (39 vs 11 ms),
# while truncation and spliced files are caught by the chain walk alone.
def _probe_png(f, size: int) -> Tuple[int, int]:
    f.seek(len(_PNG_SIGNATURE))
    length, kind = struct.unpack('>I4s', _read_exact(f, 8))
    if kind != b'IHDR' or length != 13:
        raise _Corrupt('the first chunk is not a 13-byte IHDR')
    width, height = struct.unpack('>II', _read_exact(f, 8))
    if width == 0 or height == 0:
        raise _Corrupt(f'IHDR gives a {width}x{height} image')
    pos = len(_PNG_SIGNATURE) + 8 + length + 4
    has_data = False
    while pos < size:
        f.seek(pos)
        length, kind = struct.unpack('>I4s', _read_exact(f, 8))
        if not kind.isalpha():
            raise _Corrupt(f'chunk at byte {pos} has an invalid type {kind!r}')
        has_data |= kind == b'IDAT'
        pos += 12 + length
        if kind == b'IEND':
            break
    else:
        raise _Corrupt(f'no IEND chunk: the file stops at byte {size}'
                       + (f', the last chunk needs {pos}' if pos > size else ''))
    if not has_data:
        raise _Corrupt('no IDAT (pixel data) chunk')
    if pos != size:
        raise _Corrupt(f'IEND ends at byte {pos}, the file at {size}')
    return width, height


def _probe_jpeg(img, f, size: int) -> Tuple[int, int]:
    width, height = img.size
    orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
    f.seek(max(size - _JPEG_TAIL_BYTES, 0))
    if b'\xff\xd9' not in f.read():
        raise _Corrupt('no end-of-image marker (FFD9) at the end of the file')
    if orientation in _TRANSPOSED_ORIENTATIONS:
        width, height = height, width
    return width, height


class _Corrupt(Exception):
    """Raised by the format probes; turned into a ValueError naming the file."""


def _read_exact(f, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise _Corrupt(f'file ends at byte {f.tell()}, {n - len(data)} bytes early')
    return data


# ---------------------------------------------------------------------- BMP
def _probe_bmp(f, size: int) -> Tuple[int, int]:
    _, data_offset, dib_size = struct.unpack('<2s8xII', _read_exact(f, 18))
    if dib_size == 12:  # OS/2 BITMAPCOREHEADER
        width, height, _, bits = struct.unpack('<HHHH', _read_exact(f, 8))
        compression = 0
    elif dib_size >= 40:
        width, height, _, bits, compression = struct.unpack('<iiHHI', _read_exact(f, 16))
    else:
        raise _Corrupt(f'unknown DIB header size {dib_size}')
    height = abs(height)  # negative height = rows stored top-down
    if width <= 0 or height == 0:
        raise _Corrupt(f'header gives a {width}x{height} image')
    # Uncompressed rows are padded to 4 bytes; RLE/JPEG/PNG payloads vary.
    needed = data_offset + ((bits * width + 31) // 32) * 4 * height \
        if compression in (0, 3) else data_offset + 1
    if needed > size:
        raise _Corrupt(f'pixel data need {needed} bytes, the file has {size}')
    return width, height


# --------------------------------------------------------------------- TIFF
def _tiff_first_ifd(f, size: int) -> Dict[int, tuple]:
    """Tags of the first IFD of a classic TIFF: ``{tag: values}``.

    Only the integer types are decoded (all the tags used here are integers);
    other tags map to an empty tuple, but every tag's values must lie inside
    the file.
    """
    f.seek(0)
    order = {b'II': '<', b'MM': '>'}.get(_read_exact(f, 2))
    if order is None:
        raise _Corrupt('bad TIFF byte-order mark')
    magic, ifd_offset = struct.unpack(order + 'HI', _read_exact(f, 6))
    if magic != 42:
        raise _Corrupt(f'TIFF magic {magic}, expected 42')
    if not 8 <= ifd_offset < size:
        raise _Corrupt(f'first IFD at byte {ifd_offset} lies outside the file ({size} bytes)')
    f.seek(ifd_offset)
    (count, ) = struct.unpack(order + 'H', _read_exact(f, 2))
    entries = _read_exact(f, 12 * count)
    _read_exact(f, 4)  # offset of the next IFD
    tags = {}
    for i in range(count):
        tag, kind, num, raw = struct.unpack(order + 'HHI4s', entries[12 * i:12 * i + 12])
        nbytes = _TIFF_TYPE_SIZES.get(kind, 1) * num
        offset = None if nbytes <= 4 else struct.unpack(order + 'I', raw)[0]
        if offset is not None and offset + nbytes > size:
            raise _Corrupt(f'the values of tag {tag} end at byte {offset + nbytes}, '
                           f'the file at {size}')
        if kind not in _TIFF_TYPES:
            tags[tag] = ()
            continue
        if offset is None:
            data = raw[:nbytes]
        else:
            here = f.tell()
            f.seek(offset)
            data = _read_exact(f, nbytes)
            f.seek(here)
        tags[tag] = struct.unpack(f'{order}{num}{_TIFF_TYPES[kind][0]}', data)
    return tags


def _probe_tiff(f, size: int) -> Tuple[int, int]:
    tags = _tiff_first_ifd(f, size)
    try:
        width = tags[_TIFF_TAGS['width']][0]
        height = tags[_TIFF_TAGS['height']][0]
    except (KeyError, IndexError):
        raise _Corrupt('first IFD lacks ImageWidth/ImageLength') from None
    for kind in ('strip', 'tile'):
        offsets = tags.get(_TIFF_TAGS[f'{kind}_offsets'])
        counts = tags.get(_TIFF_TAGS[f'{kind}_counts'])
        if offsets and counts:
            if len(offsets) != len(counts):
                raise _Corrupt(f'{len(offsets)} {kind} offsets but {len(counts)} byte counts')
            end = max(o + c for o, c in zip(offsets, counts))
            if end > size:
                raise _Corrupt(f'{kind} data end at byte {end}, the file at {size}')
            return width, height
    raise _Corrupt('first IFD has no strip or tile locations')
