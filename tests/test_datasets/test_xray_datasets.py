"""Per-set dataset classes: calibration rules, radii and flip pairs."""
import json

import numpy as np
import pytest

from conftest import write_landmark_set as _write_set
from mmpose.datasets.transforms import GetBBoxCenterScale, LoadImage, RandomFlip
from mmpose_medsapiens.datasets import (ChestXrayDataset, DatasetFormatError, DentalCBCTDataset,
                                        HandXrayDataset, ISBI2015HeadDataset, LegXrayDataset)


def _build(cls, root, ann, **kwargs):
    return cls(data_root=str(root), ann_file=ann, data_prefix=dict(img=''), pipeline=[], **kwargs)


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


def test_legs_spacing_from_meta_json_row_col_reversed(tmp_path):
    ann = _write_set(tmp_path, 26, [(40, 90), (40, 90)])
    (tmp_path / 'leg_meta_json').mkdir()
    (tmp_path / 'leg_meta_json' / 'img_1_meta.json').write_text(
        json.dumps(dict(ID='img_1', spacing=[0.139, 0.155], original_shape=[90, 40], gt=[])))
    with pytest.raises(DatasetFormatError, match='image id 2: .*img_2_meta.json'):
        _build(LegXrayDataset, tmp_path, ann)
    (tmp_path / 'leg_meta_json' / 'img_2_meta.json').write_text(
        json.dumps(dict(ID='img_2', spacing=[0.15, 0.15])))
    ds = _build(LegXrayDataset, tmp_path, ann)
    assert ds[0]['calibration']['spacing'] == (0.155, 0.139)  # (x, y) = (col, row)


def test_flipped_leg_sample_keeps_labels_on_the_right_anatomy(tmp_path):
    ann = _write_set(tmp_path, 26, [(40, 90)], spacing=[0.15, 0.15])
    ds = _build(LegXrayDataset, tmp_path, ann)
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
