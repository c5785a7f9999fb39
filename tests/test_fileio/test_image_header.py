"""Structural image checks: sizes agree with decoding, damage is caught."""
import cv2
import numpy as np
import pytest
from PIL import Image

from mmpose_medsapiens.fileio import probe_image, read_image_size


def _gradient(h=40, w=30, dtype=np.uint8):
    top = 255 if dtype == np.uint8 else 65535
    return (np.linspace(0, top, h * w).reshape(h, w)).astype(dtype)


def _write_cv2(path, img):
    assert cv2.imwrite(str(path), img)
    return path


def _write_pil(path, img, **kwargs):
    Image.fromarray(img).save(str(path), **kwargs)
    return path


WRITERS = {
    'png8': lambda d: _write_cv2(d / 'a.png', _gradient()),
    'png16': lambda d: _write_cv2(d / 'a.png', _gradient(dtype=np.uint16)),
    'jpg': lambda d: _write_cv2(d / 'a.jpg', _gradient()),
    'bmp': lambda d: _write_cv2(d / 'a.bmp', _gradient()),
    'bmp_rgb_pil': lambda d: _write_pil(d / 'a.bmp', np.dstack([_gradient()] * 3)),
    'tif16': lambda d: _write_cv2(d / 'a.tif', _gradient(dtype=np.uint16)),
    'tif_pil': lambda d: _write_pil(d / 'a.tif', _gradient()),
    'tif_pil_lzw': lambda d: _write_pil(d / 'a.tif', _gradient(), compression='tiff_lzw'),
}


@pytest.mark.parametrize('kind', sorted(WRITERS))
def test_intact_files_report_the_decoded_size(kind, tmp_path):
    path = WRITERS[kind](tmp_path)
    assert probe_image(path) == read_image_size(path) == (30, 40)


@pytest.mark.parametrize('kind', sorted(WRITERS))
@pytest.mark.parametrize('keep', [0.1, 0.5, 0.9, -1])
def test_truncated_files_are_caught_and_named(kind, keep, tmp_path):
    path = WRITERS[kind](tmp_path)
    data = path.read_bytes()
    cut = len(data) - 1 if keep == -1 else int(len(data) * keep)
    damaged = tmp_path / f'cut_{path.name}'
    damaged.write_bytes(data[:cut])
    with pytest.raises(ValueError, match=str(damaged)):
        probe_image(damaged)


def test_jpeg_exif_rotation_swaps_the_size_as_the_loader_does(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = _write_pil(tmp_path / 'r.jpg', _gradient(), exif=exif)
    assert probe_image(path) == read_image_size(path) == (40, 30)


def test_png_with_a_broken_chunk_chain(tmp_path):
    path = WRITERS['png8'](tmp_path)
    data = bytearray(path.read_bytes())
    data[37:41] = b'\x00\x00\x00\x01'  # first chunk after IHDR: wrong length
    damaged = tmp_path / 'chain.png'
    damaged.write_bytes(bytes(data))
    with pytest.raises(ValueError, match='corrupt or truncated'):
        probe_image(damaged)


def test_png_with_data_after_iend(tmp_path):
    path = WRITERS['png8'](tmp_path)
    damaged = tmp_path / 'tail.png'
    damaged.write_bytes(path.read_bytes() + path.read_bytes())  # two files glued
    with pytest.raises(ValueError, match='IEND ends at byte'):
        probe_image(damaged)


def test_unknown_content_falls_back_to_decoding(tmp_path):
    path = tmp_path / 'x.png'
    path.write_bytes(b'not an image at all' * 10)
    with pytest.raises(ValueError, match='cannot be decoded'):
        probe_image(path)
    with pytest.raises(FileNotFoundError, match='nope.png'):
        probe_image(tmp_path / 'nope.png')
    (tmp_path / 'empty.png').write_bytes(b'')
    with pytest.raises(ValueError, match='is empty'):
        probe_image(tmp_path / 'empty.png')


def test_metaimage_is_checked_by_its_header(tmp_path):
    header = 'ObjectType = Image\nNDims = 2\nDimSize = 30 40\nElementType = MET_UCHAR\n' \
             'ElementDataFile = LOCAL\n'
    path = tmp_path / 'a.mha'
    path.write_bytes(header.encode() + _gradient().tobytes())
    assert probe_image(path) == (30, 40)
    path.write_bytes(header.encode() + _gradient().tobytes()[:-10])
    with pytest.raises(ValueError, match='truncated'):
        probe_image(path)
