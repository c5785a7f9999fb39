"""The MedSapiens release layout builds through the shipped configs as it is."""
import json
import os.path as osp

import pytest
from conftest import REPO_ROOT
from helpers.medsapiens_release import LEG_TEST_IMAGES, leg_spacing, write_leg_release
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS

from mmpose_medsapiens.datasets import DatasetFormatError


@pytest.fixture(scope='module')
def leg_release(tmp_path_factory):
    root = tmp_path_factory.mktemp('med_sapien')
    write_leg_release(root)
    return root


def _legs_test_dataset(root):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'medsapiens_legs.py'))
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.data_root = str(root)  # the only change
    init_default_scope('mmpose')
    return DATASETS.build(ds_cfg)


def test_leg_test_split_builds_with_release_names_and_meta_files(leg_release):
    ds = _legs_test_dataset(leg_release)
    assert len(ds) == len(LEG_TEST_IMAGES) == 50
    by_id = {ds.get_data_info(i)['img_id']: ds.get_data_info(i) for i in range(len(ds))}
    first = by_id[1061]
    assert first['img_path'] == osp.join(str(leg_release), 'Images', 'Leg_1061.png')
    assert first['calibration']['spacing'] == (0.155, 0.155)
    for img_id, info in by_id.items():
        assert info['img_path'] == osp.join(str(leg_release), 'Images', f'Leg_{img_id}.png')
        assert info['calibration']['spacing'] == (leg_spacing(img_id), ) * 2
        assert info['calibration']['unit'] == 'mm'


def test_meta_file_named_after_another_id_is_not_taken_for_that_id(tmp_path):
    # An image with id 1: the release's 1_meta.json holds ID 1001, not 1.
    write_leg_release(tmp_path, images=[(1, 240, 563)])
    (tmp_path / 'leg_meta_json' / '1_meta.json').write_text(json.dumps(
        {'gt': [], 'ID': '1001', 'spacing': [0.155, 0.155], 'original_shape': [563, 240]}))
    with pytest.raises(DatasetFormatError,
                       match=r'image id 1: .*holds "ID": "1" .*1_meta\.json holds "ID": "1001"'):
        _legs_test_dataset(tmp_path)


def test_legs_annotation_file_under_the_medsapiens_config_spelling(tmp_path):
    # MedSapiens' legs configs read legs_coco_*; the release ships leg_coco_*.
    ann = write_leg_release(tmp_path, images=[(1061, 240, 563)])
    (tmp_path / 'legs_coco_test_annotations.json').write_text(open(ann).read())
    (tmp_path / 'leg_coco_test_annotations.json').unlink()
    ds = _legs_test_dataset(tmp_path)
    assert len(ds) == 1 and ds.ann_file.endswith('legs_coco_test_annotations.json')
