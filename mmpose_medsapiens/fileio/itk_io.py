"""MetaImage, NRRD and NIfTI radiographs, read through SimpleITK.

Landmark sets from the medical-imaging side (Payer's hand radiographs,
challenge releases) come as MetaImage (``.mha`` / ``.mhd`` + raw, compressed
or not), NRRD or NIfTI. SimpleITK reads all of them, with byte order, header
offsets and compression handled by ITK. Written here are only the things it
does not do:

- the 2D rule: a volume of depth 1 (``DimSize = X Y 1``, as Payer's files
  are) is an image; a deeper one is refused by name (a stack, not an image);
- saying whether the header *states* a spacing: SimpleITK reports 1.0 both
  for ``ElementSpacing = 1 1`` and for a header without one, and a missing
  spacing must not pass for 1 mm (:func:`_stated_spacing_key`);
- errors that name the file: ITK's message for a truncated file is
  "No such file or directory".
"""
import os
import os.path as osp
from typing import NamedTuple, Optional, Tuple

import numpy as np

#: File name endings read by SimpleITK here (lower case).
ITK_SUFFIXES = ('.mha', '.mhd', '.nrrd', '.nhdr', '.nii', '.nii.gz')

# Header keys that state a pixel spacing, in the text-header formats.
_SPACING_KEYS = {'.mha': ('ElementSpacing', 'ElementSize'),
                 '.mhd': ('ElementSpacing', 'ElementSize'),
                 '.nrrd': ('spacings', 'space directions'),
                 '.nhdr': ('spacings', 'space directions')}
# Text headers are a few hundred bytes; never scan a file's pixels for keys.
_MAX_HEADER_BYTES = 1 << 16


class ItkImageInfo(NamedTuple):
    """What an ITK image header says about a 2D image.

    Attributes:
        width (int): Pixels per row.
        height (int): Rows.
        channels (int): Components per pixel (1 gray, 3 RGB, 4 RGBA).
        pixel_type (str): SimpleITK's name of the component type.
        spacing (tuple | None): ``(x, y)`` pixel spacing the header states,
            ``None`` if it states none.
        spacing_key (str | None): The header field it came from
            (``ElementSpacing``, ``ElementSize``, ``spacings``,
            ``space directions`` or NIfTI's ``pixdim``).
    """
    width: int
    height: int
    channels: int
    pixel_type: str
    spacing: Optional[Tuple[float, float]]
    spacing_key: Optional[str]


def is_itk_image(path) -> bool:
    """Whether ``path`` names a file of a format read by :func:`read_itk_image`."""
    return os.fspath(path).lower().endswith(ITK_SUFFIXES)


def read_itk_info(path) -> ItkImageInfo:
    """Read an ITK image's header (no pixels).

    Args:
        path (str | PathLike): ``.mha``, ``.mhd``, ``.nrrd``, ``.nhdr``,
            ``.nii`` or ``.nii.gz`` file.

    Returns:
        ItkImageInfo: Size, channels, component type and stated spacing.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Not a readable image header, or not 2D; the message
            names the file.
    """
    return _read_header(os.fspath(path))[1]


def read_itk_image(path) -> Tuple[np.ndarray, Optional[Tuple[float, float]]]:
    """Read a 2D ITK image's pixels as stored, with its stated spacing.

    Args:
        path (str | PathLike): See :func:`read_itk_info`.

    Returns:
        tuple: ``(H, W)`` or ``(H, W, C)`` array of the stored type (not
        windowed; RGB order for colour), and the ``(x, y)`` spacing or
        ``None`` when the header states none.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The header or the pixel data cannot be read (truncated,
            corrupt, a detached data file missing), the image is not 2D, or
            its pixels are complex; the message names the file.
    """
    path = os.fspath(path)
    reader, info = _read_header(path)
    try:
        img = _simpleitk(path).GetArrayFromImage(reader.Execute())  # the header is not parsed again
    except RuntimeError as e:
        raise ValueError(
            f'Image file {path}: the header describes a {info.width}x{info.height} '
            f'{info.pixel_type} image but its pixel data cannot be read (truncated or corrupt '
            f'file, or a missing data file; SimpleITK: {_itk_reason(e)})') from None
    if np.iscomplexobj(img):
        raise ValueError(f'Image file {path} has complex pixels ({info.pixel_type}); '
                         'landmark images are real-valued')
    if img.ndim == 4 or (img.ndim == 3 and info.channels == 1):
        img = img[0]  # the single slice of a depth-1 volume
    return img, info.spacing


def _simpleitk(path: str):
    """SimpleITK, imported on the first ITK-format image: PNG/DICOM users need not install it."""
    try:
        import SimpleITK
    except ImportError:
        raise ImportError(f'Image file {path} is read through SimpleITK, which is not installed: '
                          '`pip install SimpleITK` (tools/constraints.txt has the tested '
                          'version)') from None
    return SimpleITK


def _read_header(path: str) -> Tuple[object, ItkImageInfo]:
    """A reader that has read ``path``'s header, and what the header says."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Image file {path} does not exist')
    sitk = _simpleitk(path)
    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    try:
        reader.ReadImageInformation()
    except RuntimeError as e:
        raise ValueError(f'Image file {path} is not a readable image header '
                         f'(SimpleITK: {_itk_reason(e)})') from None
    size = reader.GetSize()
    if len(size) > 3 or (len(size) == 3 and size[2] != 1):
        raise ValueError(f'Image file {path} holds a {"x".join(map(str, size))} volume; only '
                         '2D images (or volumes one slice deep) are landmark images')
    key = _stated_spacing_key(path)
    spacing = tuple(float(s) for s in reader.GetSpacing()[:2]) if key else None
    return reader, ItkImageInfo(
        width=int(size[0]), height=int(size[1]), channels=int(reader.GetNumberOfComponents()),
        pixel_type=sitk.GetPixelIDValueAsString(reader.GetPixelID()), spacing=spacing,
        spacing_key=key)


def _stated_spacing_key(path: str) -> Optional[str]:
    """The text header's spacing field, if any (binary NIfTI always has ``pixdim``)."""
    suffix = osp.splitext(path)[1].lower()
    keys = _SPACING_KEYS.get(suffix)
    if keys is None:
        return 'pixdim'
    metaimage = suffix in ('.mha', '.mhd')
    with open(path, 'rb') as f:
        head = f.read(_MAX_HEADER_BYTES).decode('latin-1')
    for line in head.splitlines():
        name = line.split('=' if metaimage else ':', 1)[0].strip()
        if name in keys:
            return name
        if (metaimage and name == 'ElementDataFile') or (not metaimage and not line.strip()):
            return None  # the end of the header
    return None


def _itk_reason(error: RuntimeError) -> str:
    """The last informative line of an ITK exception (its first lines are source paths)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
