"""Synthetic cephalogram generator: determinism, release layout, landmarks."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmpose_medsapiens.testing import (SYNTHETIC_LANDMARK_NAMES, draw_synthetic_sample,
                                       generate_synthetic_dataset)

K = len(SYNTHETIC_LANDMARK_NAMES)


def _generate(root, seed=0, **kwargs):
    counts = dict(num_train=3, num_val=2, num_test=2)
    counts.update(kwargs)
    return generate_synthetic_dataset(str(root), seed=seed, **counts)


def _read_tree(root):
    """Map every file below ``root`` (relative path) to its bytes."""
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                files[osp.relpath(path, root)] = f.read()
    return files


def _local_contrast(img, pts, radius=6):
    """Max - min intensity in a square window around each point."""
    h, w = img.shape
    out = []
    for x, y in np.round(pts).astype(int):
        win = img[max(0, y - radius):min(h, y + radius + 1),
                  max(0, x - radius):min(w, x + radius + 1)]
        out.append(int(win.max()) - int(win.min()))
    return np.array(out)


def test_landmark_names():
    assert K == 10
    assert len(set(SYNTHETIC_LANDMARK_NAMES)) == K
    assert all(isinstance(n, str) for n in SYNTHETIC_LANDMARK_NAMES)


@pytest.mark.parametrize('size', [(256, 320), (200, 240)])
def test_sample_shape_and_keypoints_inside(size):
    width, height = size
    rng = np.random.default_rng(123)
    for _ in range(10):
        img, kpts = draw_synthetic_sample(rng, width, height)
        assert img.dtype == np.uint8 and img.shape == (height, width)
        assert kpts.dtype == np.float32 and kpts.shape == (K, 2)
        assert np.isfinite(kpts).all()
        assert (kpts >= 0).all()
        assert (kpts[:, 0] <= width - 1).all()
        assert (kpts[:, 1] <= height - 1).all()
        # X-ray look: dark background, bright bone.
        assert np.median(img) < 110 and img.max() > 180


def test_sample_is_deterministic_and_varies():
    img_a, kpts_a = draw_synthetic_sample(np.random.default_rng(7))
    img_b, kpts_b = draw_synthetic_sample(np.random.default_rng(7))
    img_c, kpts_c = draw_synthetic_sample(np.random.default_rng(8))
    np.testing.assert_array_equal(img_a, img_b)
    np.testing.assert_array_equal(kpts_a, kpts_b)
    assert not np.array_equal(img_a, img_c)
    # Random pose: landmarks move by more than the shape jitter.
    assert np.abs(kpts_a - kpts_c).max() > 5.0


def test_dataset_is_deterministic(tmp_path):
    _generate(tmp_path / 'a', seed=3)
    _generate(tmp_path / 'b', seed=3)
    _generate(tmp_path / 'c', seed=4)
    files_a = _read_tree(tmp_path / 'a')
    files_b = _read_tree(tmp_path / 'b')
    files_c = _read_tree(tmp_path / 'c')
    assert len(files_a) == 3 + 2 + 2 + 3
    assert files_a == files_b
    assert files_a.keys() == files_c.keys()
    for name in files_a:
        assert files_a[name] != files_c[name], name


def test_splits_are_independent_of_other_counts(tmp_path):
    # Each image has its own random stream: adding training images must not
    # change the validation and test images.
    _generate(tmp_path / 'a', num_train=1)
    _generate(tmp_path / 'b', num_train=4)
    files_a = _read_tree(tmp_path / 'a')
    files_b = _read_tree(tmp_path / 'b')
    for name in ('val_0000.png', 'val_0001.png', 'test_0001.png',
                 'train_0000.png'):
        path = osp.join('Images', name)
        assert files_a[path] == files_b[path]


def test_coco_structure(tmp_path):
    info = _generate(tmp_path, num_train=4, num_val=2, num_test=3)
    assert info['num_images'] == dict(train=4, val=2, test=3)
    assert info['num_keypoints'] == K
    all_img_ids, all_ann_ids = [], []
    for split, count in info['num_images'].items():
        ann_file = info[split]
        # The release layout of every converted set: Images/ + <set>_coco_<split>_annotations.json.
        assert ann_file == osp.join(str(tmp_path),
                                    f'synthetic_ceph_coco_{split}_annotations.json')
        with open(ann_file) as f:
            coco = json.load(f)
        assert set(coco) == {'info', 'images', 'annotations', 'categories'}
        assert coco['categories'] == [
            dict(
                id=1,
                name='synthetic_ceph',
                keypoints=list(SYNTHETIC_LANDMARK_NAMES),
                skeleton=[])
        ]
        assert len(coco['images']) == len(coco['annotations']) == count

        images = {img['id']: img for img in coco['images']}
        for i, img in enumerate(coco['images']):
            assert img['file_name'] == f'{split}_{i:04d}.png'
            assert (img['width'], img['height']) == (256, 320)
            pixels = cv2.imread(
                osp.join(str(tmp_path), 'Images', img['file_name']),
                cv2.IMREAD_UNCHANGED)
            assert pixels.dtype == np.uint8 and pixels.shape == (320, 256)
            sx, sy = img['spacing']
            assert sx == sy and 0.4 <= sx <= 0.6
            assert round(sx, 4) == sx

        for ann in coco['annotations']:
            img = images[ann['image_id']]
            w, h = img['width'], img['height']
            assert ann['category_id'] == 1 and ann['iscrowd'] == 0
            assert ann['num_keypoints'] == K
            assert ann['bbox'] == [0, 0, w, h] and ann['area'] == w * h
            kpts = np.array(ann['keypoints'], dtype=np.float64).reshape(K, 3)
            assert (kpts[:, 2] == 2).all()
            assert (kpts[:, :2] >= 0).all()
            assert (kpts[:, 0] <= w - 1).all() and (kpts[:, 1] <= h - 1).all()
            all_ann_ids.append(ann['id'])
        all_img_ids += list(images)
    assert len(set(all_img_ids)) == len(all_img_ids) == 9
    assert len(set(all_ann_ids)) == len(all_ann_ids) == 9


def test_spacing_spread(tmp_path):
    info = _generate(tmp_path, num_train=12, num_val=0, num_test=0)
    with open(info['train']) as f:
        spacings = [img['spacing'][0] for img in json.load(f)['images']]
    assert len(set(spacings)) > 6
    assert min(spacings) >= 0.4 and max(spacings) <= 0.6
    with open(info['val']) as f:
        assert json.load(f)['images'] == []


def test_written_image_matches_keypoints(tmp_path):
    # The JSON landmarks belong to the PNG written next to them.
    info = _generate(tmp_path, seed=5, num_train=1, num_val=0, num_test=0)
    with open(info['train']) as f:
        coco = json.load(f)
    kpts = np.array(coco['annotations'][0]['keypoints']).reshape(K, 3)
    img = cv2.imread(
        osp.join(str(tmp_path), 'Images', coco['images'][0]['file_name']),
        cv2.IMREAD_GRAYSCALE)
    # Landmarks sit on drawn structures: high local contrast.
    assert (_local_contrast(img, kpts[:, :2]) > 60).all()


def test_landmarks_lie_on_anatomy():
    # Every landmark sits on (or right next to) a drawn bone edge, so the
    # intensity range in a small window around it is large; random points
    # mostly fall on flat background or soft tissue.
    rng = np.random.default_rng(0)
    pt_rng = np.random.default_rng(1)
    lm_contrast, rand_contrast = [], []
    for _ in range(12):
        img, kpts = draw_synthetic_sample(rng)
        lm_contrast.append(_local_contrast(img, kpts))
        rand = pt_rng.uniform([0, 0], [img.shape[1] - 1, img.shape[0] - 1],
                              (100, 2))
        rand_contrast.append(_local_contrast(img, rand))
    lm_contrast = np.stack(lm_contrast)
    rand_contrast = np.concatenate(rand_contrast)
    assert (lm_contrast > 60).mean() >= 0.98
    assert (rand_contrast > 60).mean() < 0.6
    assert lm_contrast.mean() > rand_contrast.mean() + 50
    # Each landmark individually, not only on average.
    assert (np.median(lm_contrast, axis=0) > 90).all()


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError):
        generate_synthetic_dataset(str(tmp_path), num_train=-1)
    with pytest.raises(ValueError):
        generate_synthetic_dataset(str(tmp_path), seed=-1)
    with pytest.raises(ValueError):
        draw_synthetic_sample(np.random.default_rng(0), 16, 16)
