"""Per-set dataset classes: calibration rules, radii and flip pairs."""
import json

import numpy as np
import pytest
from mmpose.datasets.transforms import GetBBoxCenterScale, LoadImage, RandomFlip

from mmpose_medsapiens.datasets import (ChestXrayDataset, DatasetFormatError, DentalCBCTDataset,
                                        HandXrayDataset, ISBI2015HeadDataset, LegXrayDataset)
from mmpose_medsapiens.testing import write_blank_landmark_set as _write_set


def _build(cls, root, ann, **kwargs):
    return cls(data_root=str(root), ann_file=ann, data_prefix=dict(img='Images/'), pipeline=[],
               **kwargs)


@pytest.mark.parametrize('cls,k,spacing,unit,radii,normalize', [
    (ISBI2015HeadDataset, 19, (0.1, 0.1), 'mm', (2, 2.5, 3, 4), None),
    (HandXrayDataset, 37, (1.0, 1.0), 'mm', (2, 4, 10), dict(pair=(1, 5), distance=50.0)),
    (DentalCBCTDataset, 16, (0.18, 0.18), 'mm', (0.5, 1, 2), None),
])
def test_fixed_calibration_sets(tmp_path, cls, k, spacing, unit, radii, normalize):
    ds = _build(cls, tmp_path, _write_set(tmp_path, k, [(60, 80)]))
    cal = ds[0]['calibration']
    assert ds.metainfo['num_keypoints'] == k
    assert cal['spacing'] == spacing and cal['unit'] == unit and cal['normalize'] == normalize
    assert tuple(cal['radii']) == tuple(float(r) for r in radii)


def test_head_names_follow_the_isbi_order():
    names = ISBI2015HeadDataset.METAINFO['keypoint_info']
    assert names[0]['name'] == 'sella' and names[18]['name'] == 'articulare'


def test_chest_errors_are_pixels_at_512(tmp_path):
    ds = _build(ChestXrayDataset, tmp_path, _write_set(tmp_path, 6, [(1024, 2048)]))
    cal = ds[0]['calibration']
    assert cal['spacing'] == (0.5, 0.25) and cal['unit'] == 'px@512'
    assert tuple(cal['radii']) == (3.0, 6.0, 9.0)


def _leg_meta(root, name, meta_id, spacing):
    folder = root / 'leg_meta_json'
    folder.mkdir(exist_ok=True)
    # The release's keys: gt, ID (a string), spacing (row, col), original_shape (h, w).
    (folder / name).write_text(json.dumps(
        {'gt': [[1, 2]] * 26, 'ID': meta_id, 'spacing': list(spacing),
         'original_shape': [90, 40]}))


def test_legs_spacing_from_meta_json_row_col_reversed(tmp_path):
    ann = _write_set(tmp_path, 26, [(40, 90), (40, 90)])
    _leg_meta(tmp_path, '1_meta.json', '1', (0.139, 0.155))
    with pytest.raises(DatasetFormatError, match=r'image id 2: .*holds "ID": "2".*2_meta\.json'):
        _build(LegXrayDataset, tmp_path, ann)
    _leg_meta(tmp_path, '2_meta.json', '2', (0.15, 0.15))
    ds = _build(LegXrayDataset, tmp_path, ann)
    assert ds[0]['calibration']['spacing'] == (0.155, 0.139)  # (x, y) = (col, row)


def test_legs_meta_files_are_found_by_the_id_they_hold(tmp_path):
    # As in the release, where 1_meta.json holds "ID": "1001".
    ann = _write_set(tmp_path, 26, [(40, 90), (40, 90)])
    _leg_meta(tmp_path, '7_meta.json', '1', (0.2, 0.2))
    _leg_meta(tmp_path, '1_meta.json', '1001', (0.3, 0.3))
    _leg_meta(tmp_path, '2_meta.json', '2', (0.155, 0.155))
    ds = _build(LegXrayDataset, tmp_path, ann)
    assert ds[0]['calibration']['spacing'] == (0.2, 0.2)  # not 1_meta.json's 0.3
    assert ds[1]['calibration']['spacing'] == (0.155, 0.155)
    _leg_meta(tmp_path, '8_meta.json', '2', (0.5, 0.5))
    with pytest.raises(DatasetFormatError, match='2_meta.json and .*8_meta.json both hold'):
        _build(LegXrayDataset, tmp_path, ann)


def test_legs_flip_keeps_labels_by_default_as_medsapiens(tmp_path):
    ann = _write_set(tmp_path, 26, [(40, 90)], spacing=[0.15, 0.15])
    ds = _build(LegXrayDataset, tmp_path, ann)
    assert ds.metainfo['flip_indices'] == list(range(26))
    assert ds.metainfo['flip_pairs'] == []
    assert [info['swap'] for info in LegXrayDataset.METAINFO['keypoint_info'].values()] == [''] * 26


def test_swap_legs_on_flip_keeps_labels_on_the_right_anatomy(tmp_path):
    ann = _write_set(tmp_path, 26, [(40, 90)], spacing=[0.15, 0.15])
    ds = _build(LegXrayDataset, tmp_path, ann, swap_legs_on_flip=True)
    assert ds.metainfo['flip_indices'] == [i + 13 for i in range(13)] + list(range(13))
    sample = ds[0]
    original = sample['keypoints'][0].copy()
    sample = GetBBoxCenterScale(padding=1.0)(LoadImage()(sample))
    flipped = RandomFlip(prob=1.0, direction='horizontal')(sample)['keypoints'][0]
    w = 40
    # Label i now sits on the mirror image of what was the other leg's i.
    for i in range(26):
        j = (i + 13) % 26
        np.testing.assert_allclose(flipped[i], [w - 1 - original[j, 0], original[j, 1]],
                                   atol=1e-4)
