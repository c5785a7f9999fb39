"""Working-resolution cache: sizes, coordinates, calibration and safety."""
import json
import os

import cv2
import numpy as np
import pytest
from mmpose.datasets.transforms import (GenerateTarget, GetBBoxCenterScale, PackPoseInputs,
                                        TopdownAffine)

from mmpose_medsapiens.conversion import build_working_resolution_cache, working_resolution_size
from mmpose_medsapiens.conversion.working_resolution_cache import CACHE_RECORD_KEY
from mmpose_medsapiens.datasets import (ChestXrayDataset, DatasetFormatError, HandXrayDataset,
                                        ISBI2015HeadDataset, LegXrayDataset, LoadMedicalImage)
from mmpose_medsapiens.evaluation.metrics.medical_landmark_metric import radial_errors
from mmpose_medsapiens.fileio import read_medical_image

INPUT = (48, 64)  # (w, h): small, so that the test images get downscaled


def _write_set(root, k, sizes, spacing=None, ann_name='ann.json', depth=np.uint16, seed=0):
    """Textured 16-bit PNGs + COCO JSON, landmarks >= 5 px from the border."""
    rng = np.random.default_rng(seed)
    (root / 'Images').mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    for i, (w, h) in enumerate(sizes, start=1):
        name = f'Images/img_{i}.png'
        pixels = rng.integers(0, 4096 if depth == np.uint16 else 256, (h, w)).astype(depth)
        assert cv2.imwrite(str(root / name), pixels)
        img = dict(id=i, file_name=name, width=w, height=h)
        if spacing is not None:
            img['spacing'] = spacing
        images.append(img)
        xy = rng.uniform(5, [w - 6, h - 6], (k, 2))
        kpts = np.concatenate([xy, np.full((k, 1), 2)], 1).ravel().tolist()
        anns.append(dict(id=i, image_id=i, category_id=1, keypoints=kpts, num_keypoints=k,
                         bbox=[0, 0, w, h], area=w * h, iscrowd=0))
    path = root / ann_name
    path.write_text(json.dumps(dict(images=images, annotations=anns,
                                    categories=[dict(id=1, name='x')], info=dict(note='src'))))
    return str(path)


def _build(cls, root, ann='ann.json', **kwargs):
    return cls(data_root=str(root) + '/', ann_file=ann, data_prefix=dict(img=''), pipeline=[],
               **kwargs)


def _size(sample):
    return np.asarray(sample['raw_ann_info']['bbox'][2:], np.float64)  # whole image: (W, H)


def _kpts(ann):
    return np.asarray(ann['keypoints'], np.float64).reshape(-1, 3)[:, :2]


def _read(path):
    with open(path) as f:
        return json.load(f)


def test_size_rule_covers_padding_and_aspect_fix():
    # Full-leg radiograph, 768x1024 input: the height limits the box.
    assert working_resolution_size(2396, 5628, (768, 1024)) == (545, 1280)
    for w, h, pad in ((2396, 5628, 1.0), (3000, 1000, 1.0), (1935, 2400, 1.25)):
        w1, h1 = working_resolution_size(w, h, (768, 1024), 1.25, pad)
        # The aspect-fixed box in cached pixels spans >= 1.25x the input.
        box_w, box_h = pad * w1, pad * h1
        box_w, box_h = max(box_w, box_h * 0.75), max(box_h, box_w / 0.75)
        assert box_w >= 1.25 * 768 - 1e-6 and box_h >= 1.25 * 1024 - 1e-6
        assert w1 <= w and h1 <= h
    assert working_resolution_size(400, 600, (768, 1024)) == (400, 600)  # never upscaled
    with pytest.raises(ValueError, match='margin'):
        working_resolution_size(2396, 5628, (768, 1024), margin=0.9)


def test_physical_coordinates_spacing_and_record(tmp_path):
    src, out = tmp_path / 'src', tmp_path / 'cache'
    _write_set(src, 19, [(300, 400), (257, 333)])
    summary = build_working_resolution_cache(_build(ISBI2015HeadDataset, src), str(out), INPUT)
    assert summary['num_images'] == summary['num_downscaled'] == 2
    before, after = _read(src / 'ann.json'), _read(summary['ann_file'])
    assert summary['ann_file'] == str(out / 'ann.json')
    for img0, img1, ann0, ann1 in zip(before['images'], after['images'], before['annotations'],
                                      after['annotations']):
        w1, h1 = working_resolution_size(img0['width'], img0['height'], INPUT)
        assert (img1['width'], img1['height']) == (w1, h1)
        assert cv2.imread(str(out / img1['file_name']), cv2.IMREAD_UNCHANGED).shape == (h1, w1)
        sx, sy = w1 / img0['width'], h1 / img0['height']
        assert img1['cache_scale'] == [sx, sy]
        assert (img1['original_width'], img1['original_height']) == (img0['width'],
                                                                     img0['height'])
        assert img1['spacing'] == pytest.approx([0.1 / sx, 0.1 / sy], rel=1e-12)
        # Physical positions from the image corner are unchanged.
        np.testing.assert_allclose((_kpts(ann1) + 0.5) * img1['spacing'],
                                   (_kpts(ann0) + 0.5) * 0.1, rtol=1e-9)
        assert ann1['bbox'] == pytest.approx([0, 0, w1, h1], rel=1e-12)
        assert ann1['area'] == pytest.approx(w1 * h1, rel=1e-12)
    record = after[CACHE_RECORD_KEY]
    assert record['source_ann_file'] == str(src / 'ann.json')
    assert record['input_size'] == list(INPUT) and record['margin'] == 1.25
    assert after['info'] == dict(note='src') and after['categories'] == before['categories']
    # The cached set loads; its errors in mm equal the original ones.
    cached, source = _build(ISBI2015HeadDataset, out), _build(ISBI2015HeadDataset, src)
    for i in range(2):
        s0, s1 = source[i], cached[i]
        pred0 = s0['keypoints'][0] + np.array([3.0, -2.0])
        pred1 = (pred0 + 0.5) * _size(s1) / _size(s0) - 0.5
        np.testing.assert_allclose(radial_errors(pred1, s1['keypoints'][0], s1['calibration']),
                                   radial_errors(pred0, s0['keypoints'][0], s0['calibration']),
                                   rtol=1e-5)  # float32 keypoints in the samples


def test_pixels_are_windowed_then_area_resampled(tmp_path):
    src, out = tmp_path / 'src', tmp_path / 'cache'
    _write_set(src, 19, [(300, 400)])
    build_working_resolution_cache(_build(ISBI2015HeadDataset, src), str(out), INPUT)
    cached = cv2.imread(str(out / 'Images/img_1.png'), cv2.IMREAD_UNCHANGED)
    assert cached.dtype == np.uint8 and cached.ndim == 2  # grayscale kept single-channel
    expected = cv2.resize(read_medical_image(src / 'Images/img_1.png')[..., 0],
                          cached.shape[::-1], interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(cached, expected)


def test_landmarks_stay_on_the_image_content(tmp_path):
    # A bright blob centred on a landmark must stay centred on it after
    # resampling: x1 + 0.5 = (x + 0.5) * s, not x1 = x * s.
    src, out = tmp_path / 'src', tmp_path / 'cache'
    _write_set(src, 19, [(320, 400)])
    ann = _read(src / 'ann.json')
    xy = np.array([157.3, 203.6])
    ys, xs = np.mgrid[0:400, 0:320]
    blob = 60000 * np.exp(-((xs - xy[0])**2 + (ys - xy[1])**2) / (2 * 12.0**2))
    cv2.imwrite(str(src / 'Images/img_1.png'), blob.astype(np.uint16))
    ann['annotations'][0]['keypoints'][:2] = xy.tolist()
    (src / 'ann.json').write_text(json.dumps(ann))
    build_working_resolution_cache(_build(ISBI2015HeadDataset, src), str(out), INPUT)
    mapped = _kpts(_read(out / 'ann.json')['annotations'][0])[0]
    img = cv2.imread(str(out / 'Images/img_1.png'), cv2.IMREAD_UNCHANGED).astype(np.float64)
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    centroid = np.array([(img * xx).sum(), (img * yy).sum()]) / img.sum()
    np.testing.assert_allclose(centroid, mapped, atol=0.05)
    naive = xy * np.array(img.shape[::-1]) / (320, 400)
    assert np.abs(centroid - naive).max() > 0.3


def test_chest_px512_rule_stays_right(tmp_path):
    src, out = tmp_path / 'src', tmp_path / 'cache'
    _write_set(src, 6, [(360, 420), (300, 310)])
    build_working_resolution_cache(_build(ChestXrayDataset, src), str(out), INPUT)
    source, cached = _build(ChestXrayDataset, src), _build(ChestXrayDataset, out)
    for i in range(2):
        w1, h1 = _size(cached[i])
        # The class recomputes px@512 from the new size: equal to the JSON's.
        assert cached[i]['calibration']['spacing'] == (512 / w1, 512 / h1)
        assert _read(out / 'ann.json')['images'][i]['spacing'] == pytest.approx(
            [512 / w1, 512 / h1], rel=1e-12)
        np.testing.assert_allclose(
            (cached[i]['keypoints'][0] + 0.5) * cached[i]['calibration']['spacing'],
            (source[i]['keypoints'][0] + 0.5) * source[i]['calibration']['spacing'], rtol=1e-6)


def test_hand_wrist_rule_stays_right(tmp_path):
    # Anisotropic rounding (sx != sy) must not change the normalised errors.
    src, out = tmp_path / 'src', tmp_path / 'cache'
    _write_set(src, 37, [(333, 401)])
    build_working_resolution_cache(_build(HandXrayDataset, src), str(out), INPUT)
    s0, s1 = _build(HandXrayDataset, src)[0], _build(HandXrayDataset, out)[0]
    sx, sy = _read(out / 'ann.json')['images'][0]['cache_scale']
    assert sx != sy
    assert s1['calibration']['spacing'] == pytest.approx((1 / sx, 1 / sy), rel=1e-12)
    assert s1['calibration']['normalize'] == s0['calibration']['normalize']
    # Exact (float64) landmarks from the files; the samples hold float32.
    gt0, gt1 = (_kpts(_read(root / 'ann.json')['annotations'][0]) for root in (src, out))
    pred0 = gt0 + np.random.default_rng(0).normal(0, 4, (37, 2))
    pred1 = (pred0 + 0.5) * (sx, sy) - 0.5
    e0 = radial_errors(pred0, gt0, s0['calibration'])
    e1 = radial_errors(pred1, gt1, s1['calibration'])
    np.testing.assert_allclose(e1, e0, rtol=1e-9)


def test_leg_spacing_from_meta_json_goes_into_the_cache(tmp_path):
    src, out = tmp_path / 'src', tmp_path / 'cache'
    _write_set(src, 26, [(120, 280), (110, 260)])
    (src / 'leg_meta_json').mkdir()
    for i, (row, col) in enumerate([(0.139, 0.155), (0.15, 0.15)], start=1):
        (src / 'leg_meta_json' / f'{i}_meta.json').write_text(  # by image id, as released
            json.dumps(dict(ID=str(i), spacing=[row, col])))
    build_working_resolution_cache(
        dict(type='LegXrayDataset', data_root=str(src), ann_file='ann.json',
             data_prefix=dict(img='')), str(out), INPUT)
    assert not (out / 'leg_meta_json').exists()
    entry = _read(out / 'ann.json')['images'][0]
    sx, sy = entry['cache_scale']
    assert entry['spacing'] == pytest.approx([0.155 / sx, 0.139 / sy], rel=1e-12)
    # Loads without leg_meta_json, and runs the training pipeline.
    cached = LegXrayDataset(
        data_root=str(out), ann_file='ann.json', data_prefix=dict(img=''),
        pipeline=[LoadMedicalImage(), GetBBoxCenterScale(padding=1.0),
                  TopdownAffine(input_size=INPUT),
                  GenerateTarget(encoder=dict(type='MSRAHeatmap', input_size=INPUT,
                                              heatmap_size=(12, 16), sigma=2)),
                  PackPoseInputs(meta_keys=('img_id', 'calibration', 'input_center',
                                            'input_scale'))])
    sample = cached[0]
    assert tuple(sample['inputs'].shape) == (3, INPUT[1], INPUT[0])
    assert sample['data_samples'].gt_fields.heatmaps.shape == (26, 16, 12)
    assert sample['data_samples'].metainfo['calibration']['spacing'] == pytest.approx(
        (0.155 / sx, 0.139 / sy))


def test_small_images_are_not_upscaled(tmp_path):
    src, out = tmp_path / 'src', tmp_path / 'cache'
    _write_set(src, 19, [(40, 50)], spacing=[0.2, 0.25])
    summary = build_working_resolution_cache(_build(ISBI2015HeadDataset, src), str(out), INPUT)
    assert summary['num_downscaled'] == 0 and summary['scale_min'] == summary['scale_max'] == 1
    entry = _read(out / 'ann.json')['images'][0]
    assert (entry['width'], entry['height'], entry['cache_scale']) == (40, 50, [1.0, 1.0])
    assert entry['spacing'] == [0.2, 0.25]
    assert _read(out / 'ann.json')['annotations'][0]['keypoints'] == \
        _read(src / 'ann.json')['annotations'][0]['keypoints']
    np.testing.assert_array_equal(  # the 16-bit image is windowed, same size
        cv2.imread(str(out / 'Images/img_1.png'), cv2.IMREAD_UNCHANGED),
        read_medical_image(src / 'Images/img_1.png')[..., 0])


def test_other_formats_become_png_and_border_landmarks_are_clamped(tmp_path):
    src, out = tmp_path / 'src', tmp_path / 'cache'
    ann = _read(_write_set(src, 19, [(300, 400)], depth=np.uint8))
    img = cv2.imread(str(src / 'Images/img_1.png'))
    cv2.imwrite(str(src / 'Images/img_1.bmp'), img)
    os.remove(src / 'Images/img_1.png')
    ann['images'][0]['file_name'] = 'Images/img_1.bmp'
    ann['annotations'][0]['keypoints'][:2] = [0.0, 399.0]  # on the border
    (src / 'ann.json').write_text(json.dumps(ann))
    summary = build_working_resolution_cache(_build(ISBI2015HeadDataset, src), str(out), INPUT)
    cache = _read(out / 'ann.json')
    assert cache['images'][0]['file_name'] == 'Images/img_1.png'
    assert (out / 'Images/img_1.png').is_file()
    assert summary['clamped_keypoints'] == 1 == cache[CACHE_RECORD_KEY]['clamped_keypoints']
    h1 = cache['images'][0]['height']
    assert cache['annotations'][0]['keypoints'][:2] == [0.0, h1 - 1.0]


def test_refuses_source_root_and_existing_files(tmp_path):
    src, out = tmp_path / 'src', tmp_path / 'cache'
    _write_set(src, 19, [(300, 400)])
    ds = _build(ISBI2015HeadDataset, src)
    for bad in (src, src / 'cache'):
        with pytest.raises(ValueError, match='source data root'):
            build_working_resolution_cache(ds, str(bad), INPUT)
    assert sorted(os.listdir(src)) == ['Images', 'ann.json']
    assert os.listdir(src / 'Images') == ['img_1.png']

    build_working_resolution_cache(ds, str(out), INPUT)
    stamp = {p: (out / p).read_bytes() for p in ('ann.json', 'Images/img_1.png')}
    with pytest.raises(FileExistsError, match='overwrite'):
        build_working_resolution_cache(ds, str(out), INPUT, margin=2.0)
    assert {p: (out / p).read_bytes() for p in stamp} == stamp
    build_working_resolution_cache(ds, str(out), INPUT, margin=2.0, overwrite=True)
    assert _read(out / 'ann.json')[CACHE_RECORD_KEY]['margin'] == 2.0


def test_errors_name_the_file_and_image_and_leave_nothing(tmp_path):
    src, out = tmp_path / 'src', tmp_path / 'cache'
    ann = _read(_write_set(src, 19, [(300, 400), (200, 260)]))
    ann['images'][1]['width'] = 210  # the file is 200 wide
    (src / 'ann.json').write_text(json.dumps(ann))
    ds = _build(ISBI2015HeadDataset, src, check_images=False)
    with pytest.raises(DatasetFormatError, match=r'ann\.json, image id 2: .*img_2\.png is '
                       r'200x260 but the annotation file says 210x260'):
        build_working_resolution_cache(ds, str(out), INPUT)
    assert not (out / 'Images' / 'img_1.png').exists() and not (out / 'ann.json').exists()
