"""The mean-shape baseline on geometry whose errors are known by hand."""
import json

import numpy as np
import pytest

from mmpose_medsapiens.datasets import MedicalLandmarkDataset, landmark_metainfo
from mmpose_medsapiens.evaluation.mean_shape_baseline import mean_shape, mean_shape_baseline


def _dataset(tmp_path, name, images):
    """``images``: list of (width, height, [(x, y) | None, ...]) with spacing 0.5 mm."""
    coco = dict(images=[], annotations=[], categories=[dict(
        id=1, name='x', keypoints=['p', 'q'], skeleton=[])])
    for n, (w, h, points) in enumerate(images, start=1):
        coco['images'].append(dict(id=n, file_name=f'{n}.png', width=w, height=h, spacing=0.5))
        kpts = []
        for p in points:
            kpts += [0, 0, 0] if p is None else [p[0], p[1], 2]
        coco['annotations'].append(dict(id=n, image_id=n, category_id=1, keypoints=kpts,
                                        num_keypoints=sum(p is not None for p in points),
                                        bbox=[0, 0, w, h], area=w * h, iscrowd=0))
    path = tmp_path / f'{name}.json'
    path.write_text(json.dumps(coco))
    return MedicalLandmarkDataset(ann_file=str(path), data_root=str(tmp_path),
                                  metainfo=landmark_metainfo('toy', ['p', 'q']),
                                  check_images=False, test_mode=True, pipeline=[])


def test_pixel_mean_and_its_errors(tmp_path):
    train = _dataset(tmp_path, 'train', [(101, 101, [(10, 10), (50, 50)]),
                                         (101, 101, [(30, 10), None])])
    np.testing.assert_allclose(mean_shape(train), [[20, 10], [50, 50]])  # q only where seen
    # A 3-4-5 triangle: p is 6 px right and 8 px down of the mean: 10 px = 5 mm.
    test = _dataset(tmp_path, 'test', [(101, 101, [(26, 18), (50, 50)])])
    result = mean_shape_baseline(train, test, radii=(1, 6))
    assert result['MRE_mm'] == pytest.approx((5 + 0) / 2)
    assert result['SDR_6mm'] == 100 and result['SDR_1mm'] == 50


def test_box_frame_follows_the_image_size(tmp_path):
    # The same relative position in a small and a twice as large image.
    train = _dataset(tmp_path, 'train', [(101, 201, [(50, 100), (25, 50)]),
                                         (201, 401, [(100, 200), (50, 100)])])
    test = _dataset(tmp_path, 'test', [(401, 801, [(200, 400), (100, 200)])])
    assert mean_shape_baseline(train, test, 'box')['MRE_mm'] == pytest.approx(0, abs=1e-9)
    # In pixels the mean sits at (75, 150): (125, 250) px away from p = 139.75 px.
    pixels = mean_shape_baseline(train, test, 'pixels')['MRE_mm']
    expected = 0.5 * (np.hypot(125, 250) + np.hypot(62.5, 125)) / 2
    assert pixels == pytest.approx(expected)
    with pytest.raises(ValueError, match='frame'):
        mean_shape(train, 'normalised')


def test_a_landmark_seen_nowhere_has_no_mean(tmp_path):
    train = _dataset(tmp_path, 'train', [(101, 101, [(10, 10), None])])
    with pytest.raises(ValueError, match=r'landmark\(s\) \[1\] are visible in no image'):
        mean_shape(train)
