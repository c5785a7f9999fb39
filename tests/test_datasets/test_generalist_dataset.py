"""88-landmark generalist mix: layout, zero weights, calibration, flips."""
import numpy as np
import pytest

from mmpose_medsapiens.datasets import (GENERALIST_METAINFO, GENERALIST_NAMES,
                                        MedSapiensGeneralistDataset)
from mmpose_medsapiens.testing import write_blank_landmark_set


def test_layout_is_medsapiens_order_and_flips_keep_labels():
    assert len(GENERALIST_NAMES) == 88
    assert GENERALIST_NAMES[0] == 'head/sella' and GENERALIST_NAMES[19].startswith('chest/')
    assert GENERALIST_NAMES[25].startswith('hand/') and GENERALIST_NAMES[62].startswith('legs/')
    swaps = {i: info['swap'] for i, info in GENERALIST_METAINFO['keypoint_info'].items()
             if info['swap']}
    # MedSapiens' med_sapien.py metainfo declares no swap pairs.
    assert swaps == {} and GENERALIST_METAINFO['keypoint_info'][62]['name'] == 'legs/leg_a_0'


def test_samples_keep_source_name_calibration_and_zero_weight_elsewhere(tmp_path):
    roots = {name: tmp_path / name for name in ('head', 'hand')}
    write_blank_landmark_set(roots['head'], 19, [(60, 80)], spacing=[0.1, 0.1])
    write_blank_landmark_set(roots['hand'], 37, [(70, 90), (70, 90)])
    ds = MedSapiensGeneralistDataset(datasets=[
        dict(type='ISBI2015HeadDataset', data_root=str(roots['head']), ann_file='ann.json',
             data_prefix=dict(img='Images/')),
        dict(type='HandXrayDataset', data_root=str(roots['hand']), ann_file='ann.json',
             data_prefix=dict(img='Images/')),
    ])
    assert len(ds) == 3
    head, hand = ds.get_data_info(0), ds.get_data_info(1)
    assert head['dataset_name'] == 'head' and hand['dataset_name'] == 'hand'
    assert head['keypoints'].shape == (1, 88, 2) and len(head['flip_indices']) == 88
    np.testing.assert_array_equal(head['keypoints_visible'][0, :19], 1)
    np.testing.assert_array_equal(head['keypoints_visible'][0, 19:], 0)
    np.testing.assert_array_equal(hand['keypoints_visible'][0, 25:62], 1)
    assert hand['keypoints_visible'][0].sum() == 37
    # The wrist rule follows the hand landmarks to their new channels.
    assert hand['calibration']['normalize']['pair'] == (26, 30)
    raw = ds.datasets[1].get_data_info(0)
    np.testing.assert_array_equal(hand['keypoints'][0, 25:62], raw['keypoints'][0])
    assert raw['calibration']['normalize']['pair'] == (1, 5)  # the source is untouched


def test_only_known_sources_once(tmp_path):
    write_blank_landmark_set(tmp_path, 19, [(60, 80)], spacing=[0.1, 0.1])
    head = dict(type='ISBI2015HeadDataset', data_root=str(tmp_path), ann_file='ann.json',
                data_prefix=dict(img='Images/'))
    with pytest.raises(ValueError, match='head set is given twice'):
        MedSapiensGeneralistDataset(datasets=[head, head])


def _set(root, cls_name, k, spacing=(0.1, 0.1)):
    write_blank_landmark_set(root, k, [(60, 80)], spacing=list(spacing))
    return dict(type=cls_name, data_root=str(root), ann_file='ann.json',
                data_prefix=dict(img='Images/'))


def test_a_declared_layout_of_any_registered_sets(tmp_path):
    layout = ['EchoNetLVHDataset', 'AarizDataset', 'ISBI2015HeadDataset']
    ds = MedSapiensGeneralistDataset(
        datasets=[_set(tmp_path / 'head', 'ISBI2015HeadDataset', 19),
                  _set(tmp_path / 'echo', 'EchoNetLVHDataset', 4)],
        layout=layout)
    names = ds.metainfo['keypoint_id2name']
    assert len(names) == 4 + 29 + 19
    assert names[0] == 'echonet_lvh/ivs_endocardial_top' and names[4] == 'aariz/a_point'
    assert names[33] == 'head/sella'
    head, echo = ds.get_data_info(0), ds.get_data_info(1)
    assert head['keypoints'].shape == (1, 52, 2)
    np.testing.assert_array_equal(np.flatnonzero(head['keypoints_visible'][0]), range(33, 52))
    np.testing.assert_array_equal(np.flatnonzero(echo['keypoints_visible'][0]), range(4))
    # Measurement landmarks move with their block: SNA (sella, nasion,
    # subspinale = 0, 1, 4 in the head set) lies at 33, 34, 37.
    sna = next(m for m in head['calibration']['measurements'] if m['name'] == 'SNA')
    assert sna['landmarks'] == (33, 34, 37)
    ivsd = next(m for m in echo['calibration']['measurements'] if m['name'] == 'IVSd')
    assert ivsd['landmarks'] == (0, 1)


def test_layout_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="'NoSuchDataset' is not a registered"):
        MedSapiensGeneralistDataset(datasets=[], layout=['NoSuchDataset'])
    with pytest.raises(ValueError, match='head set is given twice'):
        MedSapiensGeneralistDataset(datasets=[],
                                    layout=['ISBI2015HeadDataset', 'ISBI2015HeadDataset'])
    with pytest.raises(TypeError, match='AarizDataset is not in the generalist layout'):
        MedSapiensGeneralistDataset(
            datasets=[_set(tmp_path / 'aariz', 'AarizDataset', 29)],
            layout=['ISBI2015HeadDataset'])
