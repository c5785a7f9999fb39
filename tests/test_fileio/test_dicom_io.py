"""DICOM radiographs: display pipeline, spacing from the header, bad files."""
import json

import cv2
import numpy as np
import pytest
from helpers.dicom_files import write_dicom

from mmpose_medsapiens.datasets import DatasetFormatError, ISBI2015HeadDataset
from mmpose_medsapiens.fileio import (probe_image, read_dicom, read_header_spacing, read_image_size,
                                      read_medical_image)
from mmpose_medsapiens.testing import write_blank_landmark_set


def _ramp(h=20, w=30):
    return (np.arange(h * w).reshape(h, w) * 4 % 4096).astype(np.uint16)


def test_modality_lut_then_linear_window(tmp_path):
    raw = _ramp()
    path = write_dicom(tmp_path / 'a.dcm', raw, RescaleSlope=2, RescaleIntercept=-100,
                       WindowCenter=2000, WindowWidth=1001, PixelSpacing=[0.2, 0.15])
    img, spacing, tag = read_dicom(path)
    # By hand: value v = 2 raw - 100; below 1499.5 black, above 2499.5 white,
    # else ((v - 1999.5) / 1000 + 0.5) * 255.
    v = 2.0 * raw - 100
    expected = np.clip(((v - 1999.5) / 1000 + 0.5) * 255, 0, 255)
    expected[v <= 1499.5], expected[v > 2499.5] = 0, 255
    np.testing.assert_array_equal(img, np.rint(expected).astype(np.uint8))
    assert spacing == (0.15, 0.2) and tag == 'PixelSpacing'  # (x, y) = (column, row)
    bgr = read_medical_image(path)
    assert bgr.shape == (20, 30, 3) and (bgr[..., 0] == img).all()
    assert read_image_size(path) == probe_image(path) == (30, 20)


def test_monochrome1_is_inverted_and_imager_spacing_is_the_fallback(tmp_path):
    raw = _ramp()
    plain = read_dicom(write_dicom(tmp_path / 'm2.dcm', raw, WindowCenter=2048,
                                   WindowWidth=4096))[0]
    img, spacing, tag = read_dicom(write_dicom(
        tmp_path / 'm1.dcm', raw, photometric='MONOCHROME1', WindowCenter=2048,
        WindowWidth=4096, ImagerPixelSpacing=[0.139, 0.139]))
    np.testing.assert_array_equal(img, 255 - plain)
    assert spacing == (0.139, 0.139) and tag == 'ImagerPixelSpacing'


def test_without_voi_the_percentile_rule_applies(tmp_path):
    from mmpose_medsapiens.fileio import window_to_uint8
    raw = _ramp()
    img, spacing, tag = read_dicom(write_dicom(tmp_path / 'n.dcm', raw))
    np.testing.assert_array_equal(img, window_to_uint8(raw.astype(np.float64)))
    assert spacing is None and tag is None
    assert read_header_spacing(str(tmp_path / 'n.dcm')) == (None, None)


def test_bad_dicom_files_are_named(tmp_path):
    path = write_dicom(tmp_path / 't.dcm', _ramp())
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:-300])  # truncated pixel data
    with pytest.raises(ValueError, match=r't\.dcm'):
        read_medical_image(path)
    (tmp_path / 'x.dcm').write_bytes(b'not a dicom file at all')
    with pytest.raises(ValueError, match=r'x\.dcm'):
        read_dicom(str(tmp_path / 'x.dcm'))
    with pytest.raises(ValueError, match=r'WindowWidth 0'):
        read_dicom(write_dicom(tmp_path / 'w.dcm', _ramp(), WindowCenter=10, WindowWidth=0))


def test_dataset_reads_dicom_and_checks_it_at_build(tmp_path):
    from mmengine.registry import init_default_scope
    init_default_scope('mmpose')
    ann = write_blank_landmark_set(tmp_path, 19, [(30, 20)])
    coco = json.load(open(ann))
    coco['images'][0]['file_name'] = 'img_1.dcm'
    json.dump(coco, open(ann, 'w'))
    write_dicom(tmp_path / 'Images' / 'img_1.dcm', _ramp(), WindowCenter=2048, WindowWidth=4096)
    ds = ISBI2015HeadDataset(data_root=str(tmp_path), ann_file='ann.json',
                             data_prefix=dict(img='Images/'),
                             pipeline=[dict(type='LoadMedicalImage')])
    assert ds[0]['img'].shape == (20, 30, 3)
    data = open(tmp_path / 'Images' / 'img_1.dcm', 'rb').read()
    open(tmp_path / 'Images' / 'img_1.dcm', 'wb').write(data[:-300])
    with pytest.raises(DatasetFormatError, match=r'image id 1: .*img_1\.dcm'):
        ISBI2015HeadDataset(data_root=str(tmp_path), ann_file='ann.json',
                            data_prefix=dict(img='Images/'), pipeline=[])


def test_png_states_no_spacing(tmp_path):
    path = str(tmp_path / 'a.png')
    cv2.imwrite(path, np.zeros((4, 5), np.uint8))
    assert read_header_spacing(path) == (None, None)


def test_build_time_probe_checks_dicom_without_decoding(tmp_path, monkeypatch):
    from mmpose_medsapiens.fileio import dicom_io, image_header
    path = write_dicom(tmp_path / 'p.dcm', _ramp(), WindowCenter=2048, WindowWidth=4096)
    decoded = []
    monkeypatch.setattr(dicom_io, 'read_dicom', lambda *a: decoded.append(a))
    monkeypatch.setattr(image_header, 'read_image_size', lambda *a: decoded.append(a))
    assert probe_image(path) == (30, 20) and decoded == []
    data = open(path, 'rb').read()
    # Cut inside the pixel data: its element no longer parses, or is short.
    for cut in (300, 1):
        open(path, 'wb').write(data[:-cut])
        with pytest.raises(ValueError, match=r'p\.dcm'):
            probe_image(path)
    # A header that states more pixels than the data hold.
    write_dicom(tmp_path / 'p.dcm', _ramp(), Rows=40)
    with pytest.raises(ValueError, match=r'p\.dcm is truncated: .*1200 bytes.*30x40x1.*2400'):
        probe_image(path)
    assert decoded == []
