"""Medical image reading: formats, bit depths, windowing rule, ITK formats, errors."""
import cv2
import numpy as np
import pytest

from mmpose_medsapiens.fileio.image_reader import (read_header_spacing, read_image_size,
                                                   read_medical_image, window_to_uint8)
from mmpose_medsapiens.fileio.itk_io import read_itk_image

# 1000 distinct 16-bit levels 0..999 on a 25 x 40 (H x W) image. Their 0.5th
# and 99.5th percentiles (linear interpolation) are 4.995 and 994.005, so
# v -> (v - 4.995) * 255 / 989.01, rounded and clipped; values below are
# worked out by hand from that formula.
RAMP = np.arange(1000, dtype=np.uint16).reshape(25, 40)
RAMP_EXPECTED = {0: 0, 4: 0, 6: 0, 10: 1, 100: 24, 500: 128, 994: 255, 999: 255}


def _check_ramp(img):
    assert img.dtype == np.uint8 and img.shape == (25, 40, 3)
    assert (img[..., 0] == img[..., 1]).all() and (img[..., 0] == img[..., 2]).all()
    flat = img[..., 0].ravel()
    for value, expected in RAMP_EXPECTED.items():
        assert flat[value] == expected, (value, flat[value])
    assert (np.diff(flat.astype(int)) >= 0).all()


def _write_mha(path, pixels, element_type, *, lines=None, msb=False, dims=None,
               newline='\n', trailer=b''):
    """Write a MetaImage file by hand (no library), returning its path."""
    h, w = pixels.shape[:2]
    header = lines if lines is not None else [
        'ObjectType = Image', 'NDims = 2', 'BinaryData = True',
        f'BinaryDataByteOrderMSB = {msb}', 'CompressedData = False',
        'ElementSpacing = 0.5 0.25', f'DimSize = {dims or f"{w} {h}"}',
        f'ElementType = {element_type}', 'ElementDataFile = LOCAL'
    ]
    data = pixels.astype(pixels.dtype.newbyteorder('>' if msb else '<')).tobytes()
    with open(path, 'wb') as f:
        f.write(newline.join(header).encode() + newline.encode() + data + trailer)
    return str(path)


# ------------------------------------------------------------- windowing
def test_windowing_rule_numbers():
    out = window_to_uint8(RAMP)
    for value, expected in RAMP_EXPECTED.items():
        assert out.ravel()[value] == expected
    # An outlier does not squash the rest: it is clipped to 255.
    img = np.full((20, 20), 1000, np.uint16)
    img[:10] = 3000
    img[0, 0] = 65535
    out = window_to_uint8(img)
    assert out[0, 0] == 255 and out[5, 5] == 255 and out[15, 15] == 0


def test_windowing_constant_uint8_and_nonfinite():
    assert (window_to_uint8(np.full((4, 5), 1234, np.uint16)) == 0).all()
    eight = np.arange(20, dtype=np.uint8).reshape(4, 5)
    assert window_to_uint8(eight) is eight
    img = np.array([[0.0, 1.0, np.nan, np.inf, -np.inf] * 4], dtype=np.float32)
    out = window_to_uint8(img)
    assert out[0, 2] == 0 and out[0, 3] == 255 and out[0, 4] == 0
    assert out[0, 0] == 0 and out[0, 1] == 255


# ------------------------------------------------------------- file formats
@pytest.mark.parametrize('ext', ['png', 'bmp', 'tif'])
def test_8bit_gray_is_unchanged(tmp_path, ext):
    gray = (np.arange(24 * 30) % 251).astype(np.uint8).reshape(24, 30)
    path = str(tmp_path / f'gray.{ext}')
    assert cv2.imwrite(path, gray)
    img = read_medical_image(path)
    assert img.shape == (24, 30, 3) and img.dtype == np.uint8
    for c in range(3):
        assert (img[..., c] == gray).all()
    assert read_image_size(path) == (30, 24)


@pytest.mark.parametrize('ext', ['png', 'tif'])
def test_16bit_gray_is_windowed(tmp_path, ext):
    path = str(tmp_path / f'ramp.{ext}')
    assert cv2.imwrite(path, RAMP)
    _check_ramp(read_medical_image(path))


def test_float_tiff_is_windowed(tmp_path):
    path = str(tmp_path / 'ramp_float.tif')
    assert cv2.imwrite(path, RAMP.astype(np.float32) / 7.0)  # scale-free rule
    _check_ramp(read_medical_image(path))


def test_color_inputs_stay_bgr(tmp_path):
    bgr = np.zeros((16, 20, 3), np.uint8)
    bgr[..., 0] = 200  # blue
    bgr[:, :10, 2] = 90  # some red on the left
    assert cv2.imwrite(str(tmp_path / 'c.png'), bgr)
    assert (read_medical_image(tmp_path / 'c.png') == bgr).all()
    bgra = np.dstack([bgr, np.full((16, 20), 7, np.uint8)])
    assert cv2.imwrite(str(tmp_path / 'a.png'), bgra)
    assert (read_medical_image(tmp_path / 'a.png') == bgr).all()
    assert cv2.imwrite(str(tmp_path / 'c.jpg'), bgr, [cv2.IMWRITE_JPEG_QUALITY, 100])
    jpg = read_medical_image(tmp_path / 'c.jpg').astype(int)
    assert jpg.shape == (16, 20, 3)
    assert np.abs(jpg - bgr).mean() < 3  # lossy, but blue stays blue
    assert read_image_size(tmp_path / 'c.jpg') == (20, 16)


def test_gray_jpeg(tmp_path):
    gray = np.tile(np.linspace(0, 255, 32).astype(np.uint8), (8, 1))
    assert cv2.imwrite(str(tmp_path / 'g.jpg'), gray, [cv2.IMWRITE_JPEG_QUALITY, 100])
    img = read_medical_image(tmp_path / 'g.jpg')
    assert img.shape == (8, 32, 3)
    assert np.abs(img[..., 1].astype(int) - gray).max() <= 3


# ------------------------------------------------------------- MetaImage, NRRD, NIfTI
def test_mha_in_payers_layout(tmp_path):
    # The header of Payer's hand images (hand_xray_dataset/images/3167.mha),
    # values kept, size shrunk: 8-bit, NDims 3 with DimSize X Y 1.
    pixels = (np.arange(6 * 9) * 4 % 256).astype(np.uint8).reshape(6, 9)
    path = _write_mha(tmp_path / 'h.mha', pixels, 'MET_UCHAR', lines=[
        'ObjectType = Image', 'NDims = 3', 'BinaryData = True',
        'BinaryDataByteOrderMSB = False', 'CompressedData = False',
        'TransformMatrix = 1 0 0 0 1 0 0 0 1', 'Offset = 0 0 0', 'CenterOfRotation = 0 0 0',
        'AnatomicalOrientation = RAI', 'ElementSpacing = 0.108075 0.108075 0.108075',
        'ITK_FileNotes = Created by Convert3D', 'DimSize = 9 6 1', 'ElementType = MET_UCHAR',
        'ElementDataFile = LOCAL'])
    arr, spacing = read_itk_image(path)
    assert arr.dtype == np.uint8 and (arr == pixels).all() and spacing == (0.108075, 0.108075)
    img = read_medical_image(path)
    assert img.shape == (6, 9, 3) and (img[..., 2] == pixels).all()
    assert read_image_size(path) == (9, 6)
    assert read_header_spacing(path) == ((0.108075, 0.108075), 'ElementSpacing')


def test_a_header_without_spacing_states_none(tmp_path):
    # SimpleITK reports 1.0 here; 1 mm must not be assumed.
    path = _write_mha(tmp_path / 'n.mha', np.zeros((3, 4), np.uint8), 'MET_UCHAR', lines=[
        'NDims = 2', 'DimSize = 4 3', 'ElementType = MET_UCHAR', 'ElementDataFile = LOCAL'])
    assert read_itk_image(path)[1] is None and read_header_spacing(path) == (None, None)


@pytest.mark.parametrize('element_type,dtype', [('MET_USHORT', np.uint16),
                                                ('MET_SHORT', np.int16),
                                                ('MET_FLOAT', np.float32)])
@pytest.mark.parametrize('msb', [False, True])
def test_mha_types_and_byte_order(tmp_path, element_type, dtype, msb):
    pixels = (RAMP.astype(np.int32) - (500 if dtype == np.int16 else 0)).astype(dtype)
    path = _write_mha(tmp_path / 'r.mha', pixels, element_type, msb=msb)
    arr, spacing = read_itk_image(path)
    assert arr.dtype == dtype and arr.dtype.isnative
    np.testing.assert_array_equal(arr, pixels)
    assert spacing == (0.5, 0.25)
    _check_ramp(read_medical_image(path))  # windowing ignores offset / type


def test_mha_header_variants(tmp_path):
    pixels = np.arange(12, dtype=np.uint16).reshape(3, 4) * 1000
    base = ['NDims = 2', 'DimSize = 4 3', 'ElementType = MET_USHORT']
    # ElementByteOrderMSB, CRLF line ends, ElementSize used when no spacing.
    path = _write_mha(tmp_path / 'a.mha', pixels, 'MET_USHORT', msb=True, newline='\r\n',
                      lines=base + ['ElementSize = 0.2 0.3', 'ElementByteOrderMSB = True',
                                    'ElementDataFile = LOCAL'])
    arr, spacing = read_itk_image(path)
    assert (arr == pixels).all() and spacing == (0.2, 0.3)
    assert read_header_spacing(path) == ((0.2, 0.3), 'ElementSize')
    # HeaderSize = -1: the pixels are the last bytes of the file.
    path = tmp_path / 'b.mha'
    head = '\n'.join(base + ['HeaderSize = -1', 'ElementDataFile = LOCAL']).encode()
    path.write_bytes(head + b'\nJUNK\n' + pixels.astype('<u2').tobytes())
    assert (read_itk_image(path)[0] == pixels).all()
    # HeaderSize = N: the pixels start at byte N of the file.
    head = '\n'.join(base + ['HeaderSize = 200', 'ElementDataFile = LOCAL']).encode() + b'\n'
    path = tmp_path / 'c.mha'
    path.write_bytes(head.ljust(200, b'\0') + pixels.astype('<u2').tobytes())
    assert (read_itk_image(path)[0] == pixels).all()


def test_mha_rgb_becomes_bgr(tmp_path):
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[..., 0] = 250  # red
    path = _write_mha(tmp_path / 'rgb.mha', rgb, 'MET_UCHAR', lines=[
        'NDims = 2', 'DimSize = 3 2', 'ElementNumberOfChannels = 3',
        'ElementType = MET_UCHAR', 'ElementDataFile = LOCAL'])
    img = read_medical_image(path)
    assert (img[..., 2] == 250).all() and (img[..., :2] == 0).all()


@pytest.mark.parametrize('name,compress,key', [
    ('z.mha', True, 'ElementSpacing'), ('d.mhd', False, 'ElementSpacing'),
    ('d.mhd', True, 'ElementSpacing'), ('n.nrrd', True, 'space directions'),
    ('n.nii.gz', True, 'pixdim'), ('n.nii', False, 'pixdim')])
def test_formats_simpleitk_writes(tmp_path, name, compress, key):
    import SimpleITK as sitk
    image = sitk.GetImageFromArray(RAMP)
    image.SetSpacing((0.5, 0.25))
    path = str(tmp_path / name)
    sitk.WriteImage(image, path, useCompression=compress)
    arr, spacing = read_itk_image(path)
    np.testing.assert_array_equal(arr, RAMP)
    assert spacing == pytest.approx((0.5, 0.25))
    assert read_header_spacing(path)[1] == key
    assert read_image_size(path) == (40, 25)
    _check_ramp(read_medical_image(path))


@pytest.mark.parametrize('lines,data,message', [
    (['NDims = 3', 'DimSize = 4 3 2', 'ElementType = MET_UCHAR', 'ElementDataFile = LOCAL'],
     24, '4x3x2 volume'),
    (['NDims = 2', 'DimSize = 40 30', 'ElementType = MET_UCHAR', 'ElementDataFile = LOCAL'],
     12, 'pixel data cannot be read'),
    (['NDims = 2', 'DimSize = 4 3', 'ElementType = MET_UCHAR', 'ElementDataFile = x.raw'],
     12, 'pixel data cannot be read'),
    (['not a header'], 12, 'not a readable image header'),
])
def test_itk_errors_name_the_file(tmp_path, lines, data, message):
    path = _write_mha(tmp_path / 'bad.mha', np.zeros((1, data), np.uint8), 'MET_UCHAR',
                      lines=lines)
    readers = (read_itk_image, read_medical_image) + (
        (read_image_size, ) if 'pixel data' not in message else ())
    for reader in readers:
        with pytest.raises(ValueError, match=message) as err:
            reader(path)
        assert path in str(err.value)


# ------------------------------------------------------------- errors
def test_missing_and_corrupt_files_name_the_file(tmp_path):
    missing = str(tmp_path / 'nope.png')
    for reader in (read_medical_image, read_image_size, read_itk_image):
        with pytest.raises(FileNotFoundError, match='nope.png'):
            reader(missing)
    for name, content in [('corrupt.png', b'\x89PNG\r\n\x1a\n not really'),
                          ('empty.bmp', b''), ('text.jpg', b'hello'),
                          ('binary.mha', bytes(range(256)) * 4)]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ValueError) as err:
            read_medical_image(path)
        assert str(path) in str(err.value)


# ------------------------------------------------------------- transform
def test_load_medical_image_transform(tmp_path):
    from mmpose.registry import TRANSFORMS

    from mmpose_medsapiens.datasets.transforms import LoadMedicalImage
    path = str(tmp_path / 'ramp.png')
    cv2.imwrite(path, RAMP)
    loader = TRANSFORMS.build(dict(type='LoadMedicalImage'))
    assert isinstance(loader, LoadMedicalImage)
    results = loader(dict(img_path=path, id=3))
    assert results['id'] == 3 and results['img_path'] == path
    _check_ramp(results['img'])
    assert results['img_shape'] == (25, 40) and results['ori_shape'] == (25, 40)

    results = LoadMedicalImage(to_float32=True)(dict(img_path=path))
    assert results['img'].dtype == np.float32 and results['img'].max() == 255.0
    # A pre-loaded image is kept, as with MMPose's LoadImage.
    given = np.zeros((5, 6, 3), np.uint8)
    results = loader(dict(img=given))
    assert results['img'] is given and results['img_shape'] == (5, 6)
    assert results['img_path'] is None
    with pytest.raises(FileNotFoundError, match='absent.png'):
        loader(dict(img_path=str(tmp_path / 'absent.png')))


def test_jpeg_exif_orientation_matches_opencv_default(tmp_path):
    pil_image = pytest.importorskip('PIL.Image')
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, :10] = 255
    image = pil_image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees on display
    path = str(tmp_path / 'rotated.jpg')
    image.save(path, exif=exif.tobytes())
    # Same as cv2.IMREAD_COLOR, i.e. MMPose's LoadImage: rotated, so the
    # size used by the converters matches the loaded image.
    assert read_medical_image(path).shape == cv2.imread(path, cv2.IMREAD_COLOR).shape == (40, 20, 3)
    assert read_image_size(path) == (20, 40)


def test_simpleitk_is_needed_only_for_itk_images(tmp_path):
    """Hosts without SimpleITK (the offline GPU image) import the package and read PNGs."""
    import subprocess
    import sys
    png, mha = tmp_path / 'a.png', tmp_path / 'a.mha'
    cv2.imwrite(str(png), np.full((4, 5), 7, np.uint8))
    mha.write_text('x')
    code = f'''
import sys
sys.modules['SimpleITK'] = None  # not installed
import mmpose_medsapiens
from mmpose_medsapiens.fileio.image_reader import read_medical_image
print(read_medical_image({str(png)!r}).shape[:2])
try:
    read_medical_image({str(mha)!r})
except ImportError as e:
    print(e)
'''
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().split('\n')
    assert lines[0] == '(4, 5)'
    assert str(mha) in lines[1] and 'pip install SimpleITK' in lines[1]
