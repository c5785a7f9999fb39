"""Landmark COCO building and safe writing."""
import json
import os

import numpy as np
import pytest

from mmpose_medsapiens.conversion.coco_landmarks import make_coco, write_coco
from mmpose_medsapiens.utils import ensure_new_files

NAMES = ('a', 'b', 'c')


def _images():
    return [
        dict(id=7, file_name='x/7.png', width=100, height=50, spacing=[0.1, 0.2],
             source='first'),
        dict(file_name='x/8.png', width=np.int64(30), height=40),
    ]


def _keypoints():
    return [
        np.array([[1.5, 2.0], [99.0, 49.0], [np.nan, np.nan]]),
        [[0.0, 0.0], None, [29.0, 39.0]],
    ]


def test_make_coco_layout_and_values():
    coco = make_coco(_images(), _keypoints(), 'head', NAMES, info=dict(ground_truth='mean'))
    assert coco['info'] == dict(ground_truth='mean')
    assert coco['categories'] == [dict(id=1, name='head', keypoints=list(NAMES), skeleton=[])]
    img0, img1 = coco['images']
    assert img0 == dict(id=7, file_name='x/7.png', width=100, height=50, spacing=[0.1, 0.2],
                        source='first')
    assert img1 == dict(id=2, file_name='x/8.png', width=30, height=40)  # id: position + 1
    ann0, ann1 = coco['annotations']
    assert ann0 == dict(id=7, image_id=7, category_id=1,  # one per image, its id
                        keypoints=[1.5, 2.0, 2, 99.0, 49.0, 2, 0.0, 0.0, 0],
                        num_keypoints=2, bbox=[0, 0, 100, 50], area=5000, iscrowd=0)
    assert ann1['id'] == 2 and ann1['image_id'] == 2
    assert ann1['keypoints'] == [0.0, 0.0, 2, 0.0, 0.0, 0, 29.0, 39.0, 2]
    assert ann1['num_keypoints'] == 2 and ann1['area'] == 1200
    json.dumps(coco)  # plain Python types only


def test_scalar_spacing_and_none():
    images = _images()
    images[0]['spacing'] = 0.25
    images[1]['spacing'] = None
    coco = make_coco(images, _keypoints(), 'h', NAMES)
    assert coco['images'][0]['spacing'] == [0.25, 0.25]
    assert 'spacing' not in coco['images'][1]
    assert coco['info'] == {}


@pytest.mark.parametrize('change,message', [
    (lambda im, kp: kp.pop(), '2 images but 1'),
    (lambda im, kp: im[1].pop('width'), 'lacks "width"'),
    (lambda im, kp: im[1].update(id=7), 'x/8.png: duplicate image id 7'),
    (lambda im, kp: im[0].update(height=0), 'x/7.png: height must be a positive'),
    (lambda im, kp: im[0].update(spacing=[0.1, -1]), 'x/7.png: spacing'),
    (lambda im, kp: im[0].update(spacing='abc'), 'x/7.png: spacing'),
    (lambda im, kp: kp.__setitem__(0, np.zeros((2, 2))), r'x/7.png: expected 3 keypoints'),
    (lambda im, kp: kp[0].__setitem__((0, 0), np.inf), 'x/7.png: keypoints contain infinity'),
    (lambda im, kp: kp[0].__setitem__((1, 0), 99.5), r'x/7.png: landmark\(s\) outside .*b '),
    (lambda im, kp: kp[1].__setitem__(0, [-0.1, 3]), r'x/8.png: landmark\(s\) outside .*a '),
])
def test_make_coco_errors(change, message):
    images, keypoints = _images(), _keypoints()
    change(images, keypoints)
    with pytest.raises(ValueError, match=message):
        make_coco(images, keypoints, 'h', NAMES)


def test_make_coco_rejects_bad_names():
    with pytest.raises(ValueError, match='unique'):
        make_coco(_images(), _keypoints(), 'h', ['a', 'a', 'b'])


def test_write_coco_round_trip_and_no_overwrite(tmp_path):
    coco = make_coco(_images(), _keypoints(), 'h', NAMES, info=dict(n=np.int32(3)))
    path = str(tmp_path / 'sub' / 'ann.json')
    assert write_coco(coco, path) == path
    with open(path) as f:
        loaded = json.load(f)
    assert loaded['info'] == dict(n=3)
    assert loaded['annotations'] == coco['annotations']
    assert os.listdir(tmp_path / 'sub') == ['ann.json']  # no temporary left behind

    before = open(path).read()
    other = make_coco(_images()[:1], _keypoints()[:1], 'other', NAMES)
    with pytest.raises(FileExistsError, match='ann.json'):
        write_coco(other, path)
    assert open(path).read() == before  # untouched
    write_coco(other, path, overwrite=True)
    with open(path) as f:
        assert json.load(f)['categories'][0]['name'] == 'other'
    assert os.listdir(tmp_path / 'sub') == ['ann.json']


def test_write_failure_leaves_nothing(tmp_path):
    path = tmp_path / 'ann.json'
    with pytest.raises(TypeError):
        write_coco(dict(bad=object()), str(path))
    assert os.listdir(tmp_path) == []


def test_ensure_new_files(tmp_path):
    (tmp_path / 'a.json').write_text('{}')
    ensure_new_files([str(tmp_path / 'b.json')])
    ensure_new_files([str(tmp_path / 'a.json')], overwrite=True)
    with pytest.raises(FileExistsError, match='a.json'):
        ensure_new_files([str(tmp_path / 'b.json'), str(tmp_path / 'a.json')])
