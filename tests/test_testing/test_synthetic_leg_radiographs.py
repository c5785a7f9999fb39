"""Synthetic full-leg radiographs: the release layout the leg configs read."""
import json
import os.path as osp

import cv2

from mmpose_medsapiens.testing import write_leg_set


def test_synthetic_leg_set_layout(tmp_path):
    ann = write_leg_set(str(tmp_path), 2, (240, 560), seed=1)
    with open(ann) as f:
        coco = json.load(f)
    assert osp.basename(ann) == 'leg_coco_train_annotations.json'
    assert [img['file_name'] for img in coco['images']] == ['leg_0000.png', 'leg_0001.png']
    assert all('spacing' not in img for img in coco['images'])
    for img, ann in zip(coco['images'], coco['annotations']):
        with open(tmp_path / 'leg_meta_json' / f'{img["id"]}_meta.json') as f:
            meta = json.load(f)
        row, col = meta['spacing']
        assert meta['ID'] == str(img['id'])
        assert 0.139 <= row == col <= 0.155
        assert len(ann['keypoints']) == 3 * 26
    img = cv2.imread(str(tmp_path / 'Images' / 'leg_0001.png'), cv2.IMREAD_UNCHANGED)
    assert img.dtype.name == 'uint16' and img.shape == (560, 240)
