"""OpenCV backend: PNG, TIFF, BMP and JPEG at their own bit depth.

JPEG EXIF orientation is applied as OpenCV (and so MMPose's ``LoadImage``)
applies it, so sizes and coordinates agree with the stock loader.
"""
import os.path as osp

import cv2
import numpy as np

#: File name endings this backend reads (lower case).
RASTER_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')

# Keep the channel flag loose (gray stays gray, alpha is dropped) and the bit
# depth intact; EXIF orientation is applied as with cv2.IMREAD_COLOR.
_CV2_FLAGS = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR


def check_file(path: str):
    if not osp.isfile(path):
        raise FileNotFoundError(f'Image file {path} does not exist')


def decode_raster(path: str) -> np.ndarray:
    """Decode a PNG/TIFF/BMP/JPEG file with OpenCV, keeping its bit depth."""
    check_file(path)
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
