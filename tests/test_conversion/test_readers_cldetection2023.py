"""The CL-Detection 2023 reader on a fixture written in the challenge's own format."""
import json

import cv2
import numpy as np
import pytest
from converter_test_utils import assert_release_layout, keypoints_xyv, read_json

from mmpose_medsapiens.conversion.readers import cldetection2023 as cldet

# The challenge's training files as the official MMPose baseline reads them
# (szuboy/CL-Detection2023-MMPose step2_prepare_coco_dataset.py and
# cldetection_utils.py): a uint8 RGB stack (N, H, W, 3) zero-padded at the
# bottom/right, read with SimpleITK; train-gt.json "points" of
# {name: "1".."38", point: [x, y, image number], scale: spacing}.
CL_SIZES = {1: (40, 30, 0.1), 2: (36, 34, 0.1), 3: (44, 28, 0.125), 4: (30, 30, 0.1),
            5: (38, 26, 0.1)}  # n -> (w, h, spacing) inside a 48 x 36 stack


def _cl_xy(n):
    w, h, _ = CL_SIZES[n]
    return np.random.default_rng(n).uniform([0, 0], [w - 1, h - 1], size=(38, 2)).round(2)


def _write_cldetection(root, points=None):
    import SimpleITK as sitk
    root.mkdir(parents=True, exist_ok=True)
    stack = np.zeros((len(CL_SIZES), 36, 48, 3), np.uint8)
    for n, (w, h, _) in CL_SIZES.items():
        stack[n - 1, :h, :w] = (n * 10, 100, 200)
    sitk.WriteImage(sitk.GetImageFromArray(stack, isVector=True), str(root / 'train_stack.mha'))
    if points is None:
        points = [dict(name=str(k + 1), point=[float(x), float(y), n], scale=CL_SIZES[n][2])
                  for n in CL_SIZES for k, (x, y) in enumerate(_cl_xy(n))]
    (root / 'train-gt.json').write_text(json.dumps(dict(points=points)))
    return str(root / 'train_stack.mha'), str(root / 'train-gt.json')


def test_cldetection_unpads_keeps_spacing_and_the_baseline_split(tmp_path):
    import random
    stack, gt = _write_cldetection(tmp_path / 'cl')
    out = tmp_path / 'out'
    paths = cldet.convert_cldetection2023(stack, gt, str(out), val_count=1, test_count=1)
    order = list(range(1, 6))
    random.seed(2023)
    random.shuffle(order)  # the baseline's own steps, restated
    got = {s: [im['id'] for im in read_json(p)['images']] for s, p in paths.items()}
    assert got == dict(train=order[:3], val=order[3:4], test=order[4:])
    for split, path in paths.items():
        coco = read_json(path)
        for image, ann in zip(coco['images'], coco['annotations']):
            n = image['id']
            w, h, spacing = CL_SIZES[n]
            assert (image['width'], image['height'], image['spacing']) == (w, h, [spacing] * 2)
            np.testing.assert_allclose(keypoints_xyv(ann)[:, :2], _cl_xy(n))
            img = cv2.imread(str(out / 'Images' / f'{n}.png'))
            assert img.shape == (h, w, 3) and tuple(img[0, 0]) == (200, 100, n * 10)  # BGR
    datasets = assert_release_layout(out, 'cldetection2023', 'sapiens_lora_cldetection2023.py')
    assert datasets['train'].get_data_info(0)['calibration']['radii'] == (2.0, 2.5, 3.0, 4.0)


def test_cldetection_a_landmark_in_the_padding_is_an_error(tmp_path):
    stack, gt = _write_cldetection(tmp_path / 'cl')
    data = json.loads(open(gt).read())
    bad = next(p for p in data['points'] if p['point'][2] == 3 and p['name'] == '7')
    bad['point'][0] = 45.0  # image 3 ends at x = 43; the stack is 48 wide
    open(gt, 'w').write(json.dumps(data))
    with pytest.raises(cldet.CLDetectionFormatError,
                       match=r'image 3: landmark\(s\) \[7\] .* lie in the zero padding; the image '
                             r'ends at 44x28 pixels'):
        cldet.convert_cldetection2023(stack, gt, str(tmp_path / 'out'), 1, 1)
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('edit,message', [
    (lambda pts: pts.pop(0), r'image 1: landmark\(s\) \[1\] missing'),
    (lambda pts: pts.append(dict(pts[0])), 'image 1: landmark 1 is given twice'),
    (lambda pts: pts[1].update(scale=0.2), 'image 1: two spacings, 0.1 and 0.2'),
    (lambda pts: pts[0].update(name='39'), "landmark name '39' is not 1..38"),
    (lambda pts: pts.extend(dict(p, point=[1, 1, 9]) for p in pts[:38]),
     r'image\(s\) \[9\] are not in the stack'),
])
def test_cldetection_ground_truth_errors(tmp_path, edit, message):
    stack, gt = _write_cldetection(tmp_path / 'cl')
    data = json.loads(open(gt).read())
    edit(data['points'])
    open(gt, 'w').write(json.dumps(data))
    with pytest.raises(cldet.CLDetectionFormatError, match=message):
        cldet.convert_cldetection2023(stack, gt, str(tmp_path / 'out'), 1, 1)
