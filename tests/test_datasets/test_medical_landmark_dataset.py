"""MedicalLandmarkDataset: calibration per sample, early clear errors."""
import copy
import json
import os.path as osp

import numpy as np
import pytest

from mmpose_medsapiens.datasets import DatasetFormatError, SyntheticCephDataset

VAL_ANN = 'synthetic_ceph_coco_val_annotations.json'
TRAIN_ANN = 'synthetic_ceph_coco_train_annotations.json'


def _build(data_root, ann_file=VAL_ANN, **kwargs):
    return SyntheticCephDataset(data_root=data_root, ann_file=ann_file,
                                data_prefix=dict(img='Images/'), pipeline=[], **kwargs)


def test_samples_carry_per_image_calibration(synthetic_data):
    ds = _build(synthetic_data)
    with open(osp.join(synthetic_data, VAL_ANN)) as f:
        coco = json.load(f)
    assert len(ds) == len(coco['images'])
    spacing = {img['id']: tuple(img['spacing']) for img in coco['images']}
    for i in range(len(ds)):
        info = ds[i]
        assert info['calibration']['spacing'] == spacing[info['img_id']]
        assert info['calibration']['unit'] == 'mm'
        assert info['keypoints'].shape == (1, ds.metainfo['num_keypoints'], 2)
        w, h = info['raw_ann_info']['bbox'][2:]
        # As MMPose's CocoDataset (and so MedSapiens) clips a whole-image box.
        np.testing.assert_array_equal(info['bbox'], [[0, 0, w - 1, h - 1]])
    assert ds.metainfo['dataset_name'] == 'synthetic_ceph'
    # Lateral view: no left/right pairs, a flip keeps every label.
    assert ds.metainfo['flip_indices'] == list(range(ds.metainfo['num_keypoints']))


def test_dataset_spacing_is_the_fallback(synthetic_data, tmp_path):
    coco = _load(synthetic_data)
    for img in coco['images']:
        img.pop('spacing')
    coco['images'][0]['spacing'] = [0.3, 0.2]
    ann = _write(tmp_path, coco)
    ds = _build(synthetic_data, ann_file=ann, spacing=0.1)
    spacings = [ds[i]['calibration']['spacing'] for i in range(len(ds))]
    assert spacings[0] == (0.3, 0.2) and set(spacings[1:]) == {(0.1, 0.1)}


def _load(root):
    with open(osp.join(root, VAL_ANN)) as f:
        return json.load(f)


def _write(tmp_path, coco, text=None):
    path = tmp_path / 'ann.json'
    path.write_text(text if text is not None else json.dumps(coco))
    return str(path)


def _damaged_copy(root, img, tmp_path, damage):
    """Point ``img`` at a damaged copy of its file (absolute path in tmp)."""
    data = open(osp.join(root, 'Images', img['file_name']), 'rb').read()
    path = tmp_path / f'damaged_{osp.basename(img["file_name"])}'
    path.write_bytes(damage(data))
    img['file_name'] = str(path)


def _scramble_middle(data):
    mid = len(data) // 2
    return data[:mid] + bytes(b ^ 0x5A for b in data[mid:mid + 64]) + data[mid + 64:]


def _break(kind, coco, root=None, tmp_path=None):
    img, ann = coco['images'][1], coco['annotations'][1]
    if kind == 'truncated image':
        _damaged_copy(root, img, tmp_path, lambda data: data[:len(data) * 2 // 3])
    elif kind == 'corrupt image':
        _damaged_copy(root, img, tmp_path, lambda data: b'\x00' * len(data))
    elif kind == 'size mismatch':
        img['width'] += 8
    elif kind == 'missing image':
        img['file_name'] = 'nope.png'
    elif kind == 'keypoint count':
        ann['keypoints'] = ann['keypoints'][:-3]
    elif kind == 'nan':
        ann['keypoints'][0] = float('nan')
    elif kind == 'outside':
        ann['keypoints'][0] = img['width'] + 5.0
    elif kind == 'no spacing':
        img.pop('spacing')
    elif kind == 'duplicate id':
        coco['images'].append(copy.deepcopy(img))
    elif kind == 'no annotation':
        coco['annotations'].remove(ann)
    return img['id']


ERRORS = {
    'truncated image': 'is corrupt or truncated',
    'corrupt image': 'cannot be decoded',
    'size mismatch': 'but the annotation says',
    'missing image': 'nope.png does not exist',
    'keypoint count': 'expected 10 keypoints',
    'nan': 'NaN',
    'outside': 'outside',
    'no spacing': 'no pixel spacing',
    'duplicate id': 'duplicate image id',
    'no annotation': 'have no annotation',
}


@pytest.mark.parametrize('kind', sorted(ERRORS))
def test_bad_input_fails_at_build_naming_file_and_image(kind, synthetic_data, tmp_path):
    coco = _load(synthetic_data)
    img_id = _break(kind, coco, synthetic_data, tmp_path)
    ann = _write(tmp_path, coco)
    with pytest.raises(DatasetFormatError) as err:
        _build(synthetic_data, ann_file=ann)
    msg = str(err.value)
    assert ann in msg and f'image id {img_id}' in msg and ERRORS[kind] in msg


def test_decode_check_catches_damage_inside_the_pixel_data(synthetic_data, tmp_path):
    coco = _load(synthetic_data)
    img = coco['images'][1]
    img_id = img['id']
    _damaged_copy(synthetic_data, img, tmp_path, _scramble_middle)
    ann = _write(tmp_path, coco)
    # Same length, intact chunk chain: the header check cannot see it...
    assert len(_build(synthetic_data, ann_file=ann)) == len(coco['images'])
    # ...decoding every image does, still at build time.
    with pytest.raises(DatasetFormatError) as err:
        _build(synthetic_data, ann_file=ann, check_images='decode')
    assert f'image id {img_id}' in str(err.value) and img['file_name'] in str(err.value)


def test_check_images_rejects_unknown_modes(synthetic_data):
    with pytest.raises(ValueError, match='check_images'):
        _build(synthetic_data, check_images='thorough')


def test_truncated_json_names_the_file(synthetic_data, tmp_path):
    text = json.dumps(_load(synthetic_data))
    ann = _write(tmp_path, None, text=text[:len(text) // 2])
    with pytest.raises(DatasetFormatError, match='not valid JSON'):
        _build(synthetic_data, ann_file=ann)


def test_few_shot_selection_is_exact_and_deterministic(synthetic_data, tmp_path):
    ids = lambda ds: [ds[i]['img_id'] for i in range(len(ds))]  # noqa: E731
    full = _build(synthetic_data, ann_file=TRAIN_ANN)
    a = _build(synthetic_data, ann_file=TRAIN_ANN, num_shots=5, shot_seed=3)
    b = _build(synthetic_data, ann_file=TRAIN_ANN, num_shots=5, shot_seed=3)
    c = _build(synthetic_data, ann_file=TRAIN_ANN, num_shots=5, shot_seed=4)
    assert len(a) == 5 and ids(a) == ids(b) and ids(a) != ids(c)
    assert set(ids(a)) <= set(ids(full))
    # The file's order does not matter.
    coco = json.load(open(osp.join(synthetic_data, TRAIN_ANN)))
    coco['images'].reverse()
    coco['annotations'].reverse()
    shuffled = _write(tmp_path, coco)
    d = _build(synthetic_data, ann_file=shuffled, num_shots=5, shot_seed=3)
    assert sorted(ids(d)) == sorted(ids(a))
    with pytest.raises(DatasetFormatError, match='num_shots=99'):
        _build(synthetic_data, ann_file=TRAIN_ANN, num_shots=99)
