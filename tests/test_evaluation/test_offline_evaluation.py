"""Offline evaluation (``evaluate_predictions``) on hand-built predictions of known error.

In-process through the package, as a fresh interpreter would spend most of the
test budget importing torch; the command line is run once, as a subprocess.
"""
import csv
import datetime
import json
import os
import os.path as osp
import pickle
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import REPO_ROOT

from mmpose_medsapiens.evaluation.offline_evaluation import (EvaluationInputError,
                                                             evaluate_predictions)

TOOL = osp.join(REPO_ROOT, 'tools', 'analysis', 'evaluate_predictions.py')
OUTPUTS = ('metrics.json', 'per_landmark.csv', 'per_image.csv', 'worst_images.json', 'cdf.png',
           'per_landmark_mre.png')
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'

# Four landmarks on three images. Prediction offsets (px) and the errors they
# give (mm), by hand:
#   image 1, spacing (0.5, 0.5):  (3, 0) 1.5, (0, 4) 2.0, (3, 4) 2.5, (0, 0) 0
#   image 2, spacing (0.25, 0.5): (8, 0) 2.0, (0, -2) 1.0, (-8, 0) 2.0, landmark 3
#                                 not annotated (v=0), its far-off prediction ignored
#   image 3, no spacing (--spacing 1): (1, 0) 1.0, (0, 3) 3.0, (0, 0) 0, (0, 4) 4.0
NAMES = ['sella', 'nasion', 'orbitale', 'porion']
GT = {1: [[10, 10], [40, 12], [25, 30], [60, 50]],
      2: [[20, 20], [50, 25], [30, 40], [0, 0]],
      3: [[15, 15], [45, 18], [35, 35], [70, 60]]}
VISIBLE = {1: [2, 2, 2, 2], 2: [2, 2, 2, 0], 3: [2, 2, 2, 2]}
OFFSETS = {1: [[3, 0], [0, 4], [3, 4], [0, 0]],
           2: [[8, 0], [0, -2], [-8, 0], [40, 40]],
           3: [[1, 0], [0, 3], [0, 0], [0, 4]]}
ERRORS = {1: [1.5, 2.0, 2.5, 0.0], 2: [2.0, 1.0, 2.0, None], 3: [1.0, 3.0, 0.0, 4.0]}
ALL = [e for img in ERRORS.values() for e in img if e is not None]  # 11 errors, sum 19


def _annotation(images=(1, 2, 3), spacings=None, gt=None, visible=None, size=(100, 80)):
    if spacings is None:
        spacings = {1: [0.5, 0.5], 2: [0.25, 0.5], 3: None}
    gt, visible = gt or GT, visible or VISIBLE
    coco = dict(images=[], annotations=[],
                categories=[dict(id=1, name='head', keypoints=NAMES, skeleton=[])])
    for img_id in images:
        entry = dict(id=img_id, file_name=f'img_{img_id}.png', width=size[0], height=size[1])
        if spacings.get(img_id) is not None:
            entry['spacing'] = spacings[img_id]
        coco['images'].append(entry)
        kpts = [v for (x, y), vis in zip(gt[img_id], visible[img_id]) for v in (x, y, vis)]
        coco['annotations'].append(
            dict(id=img_id, image_id=img_id, category_id=1, keypoints=kpts,
                 num_keypoints=sum(v > 0 for v in visible[img_id]),
                 bbox=[0, 0, size[0], size[1]], area=size[0] * size[1], iscrowd=0))
    return coco


def _predictions(gt=None, offsets=None, images=(1, 2, 3)):
    """Image 1 as a COCO keypoint result, 2 as flat (x, y), 3 as nested pairs."""
    gt, offsets = gt or GT, offsets or OFFSETS
    preds = []
    for img_id in images:
        xy = np.asarray(gt[img_id], float) + np.asarray(offsets[img_id], float)
        if img_id == 1:
            flat = np.concatenate([xy, np.full((len(xy), 1), 0.9)], axis=1).ravel()
            preds.append(dict(image_id=img_id, category_id=1, keypoints=flat.tolist(),
                              score=0.9))
        elif img_id == 2:
            preds.append(dict(image_id=img_id, keypoints=xy.ravel().tolist()))
        else:
            preds.append(dict(image_id=img_id, keypoints=xy.tolist()))
    return preds


def _write(path, data):
    with open(path, 'w') as f:
        json.dump(data, f)
    return str(path)


def _read_csv(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def _read_json(path):
    with open(path) as f:
        return json.load(f)


@pytest.fixture
def inputs(tmp_path):
    ann = _write(tmp_path / 'ann.json', _annotation())
    preds = _write(tmp_path / 'preds.json', _predictions())
    return dict(ann=ann, preds=preds, out=str(tmp_path / 'out'))


def _run(inputs, **options):
    return evaluate_predictions(inputs['preds'], inputs['out'], ann_file=inputs['ann'],
                                spacing=[1.0], **options)


def _is_png(path):
    with open(path, 'rb') as f:
        if f.read(8) != PNG_SIGNATURE:
            return False
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return img is not None and img.shape[0] > 100 and img.shape[1] > 100


# ------------------------------------------------------------------ results
def test_json_predictions_metrics_and_tables(inputs, capsys):
    _run(inputs, worst=2)
    out = inputs['out']

    metrics = _read_json(osp.join(out, 'metrics.json'))
    assert metrics['MRE_mm'] == pytest.approx(19 / 11)
    assert metrics['STD_mm'] == pytest.approx(np.std(ALL))
    assert metrics['MedianRE_mm'] == pytest.approx(2.0)
    # Strict PE < r: 5, 8, 9 and 10 of the 11 errors.
    assert metrics['SDR_2mm'] == pytest.approx(100 * 5 / 11)
    assert metrics['SDR_2.5mm'] == pytest.approx(100 * 8 / 11)
    assert metrics['SDR_3mm'] == pytest.approx(100 * 9 / 11)
    assert metrics['SDR_4mm'] == pytest.approx(100 * 10 / 11)

    rows = _read_csv(osp.join(out, 'per_landmark.csv'))
    assert [r['name'] for r in rows] == NAMES
    assert [int(r['count']) for r in rows] == [3, 3, 3, 2]
    assert [float(r['MRE']) for r in rows] == pytest.approx([1.5, 2.0, 1.5, 2.0])
    assert [float(r['SDR_2']) for r in rows] == pytest.approx([200 / 3, 100 / 3, 100 / 3, 50])
    assert [float(r['SDR_4']) for r in rows] == pytest.approx([100, 100, 100, 50])
    assert {r['unit'] for r in rows} == {'mm'}

    images = _read_csv(osp.join(out, 'per_image.csv'))
    assert [int(r['img_id']) for r in images] == [1, 2, 3]
    assert [float(r['MRE']) for r in images] == pytest.approx([1.5, 5 / 3, 2.0])
    assert [int(r['count']) for r in images] == [4, 3, 4]
    assert images[1]['e3'] == ''  # not annotated: no error, not zero
    assert [float(images[0][f'e{k}']) for k in range(4)] == pytest.approx(ERRORS[1])
    assert images[2]['worst_landmark'] == '3'

    worst = _read_json(osp.join(out, 'worst_images.json'))
    assert [w['img_id'] for w in worst] == [3, 2]
    assert [w['rank'] for w in worst] == [1, 2]
    assert worst[0]['MRE'] == pytest.approx(2.0)
    assert worst[0]['max'] == pytest.approx(4.0)
    assert worst[1]['errors'][3] is None
    assert worst[0]['img_path'] == 'img_3.png'

    printed = capsys.readouterr().out
    assert 'worst images' in printed and 'img_3.png' in printed
    assert 'orbitale' in printed and 'MRE_mm' in printed
    for name in OUTPUTS:
        assert osp.isfile(osp.join(out, name)), name
    assert _is_png(osp.join(out, 'cdf.png'))
    assert _is_png(osp.join(out, 'per_landmark_mre.png'))


def test_inclusive_and_other_radii(inputs):
    result = _run(inputs, inclusive=True, radii=[2.0, 3.0])
    metrics = result['metrics']
    # PE <= r: the three errors of exactly 2 and the one of 3 now count.
    assert metrics['SDR_2mm'] == pytest.approx(100 * 8 / 11)
    assert metrics['SDR_3mm'] == pytest.approx(100 * 10 / 11)
    assert 'SDR_4mm' not in metrics
    rows = _read_csv(osp.join(inputs['out'], 'per_landmark.csv'))
    assert list(rows[0])[-2:] == ['SDR_2', 'SDR_3']
    assert float(rows[3]['SDR_2']) == pytest.approx(50.0)  # errors 0 and 4


def _dump_sample(img_id, gt, offsets, calibration, dataset_name, visible_pairs=False):
    gt = np.asarray(gt, dtype=np.float32)
    visible = np.ones((1, len(gt)), dtype=np.float32)
    if visible_pairs:
        visible = np.repeat(visible[..., None], 2, axis=-1)
    sample = dict(img_id=img_id, img_path=f'{dataset_name}/{img_id}.png',
                  ori_shape=(2048, 1024), dataset_name=dataset_name,
                  pred_instances=dict(keypoints=(gt + np.asarray(offsets, np.float32))[None],
                                      keypoint_scores=np.ones((1, len(gt)), np.float32)),
                  gt_instances=dict(keypoints=gt[None], keypoints_visible=visible))
    if calibration is not None:
        sample['calibration'] = calibration
    return sample


def _dump(path, with_calibration=True, protocol=2):
    """Two datasets with their own calibration, as tools/test.py --dump writes."""
    mm = dict(spacing=(0.5, 0.5), unit='mm', normalize=None)
    chest = dict(spacing=(512 / 1024, 512 / 2048), unit='px@512', normalize=None)
    ceph_gt = [[10, 10], [20, 20], [30, 30]]
    samples = [
        # errors (mm): 2, 3, 0 and 1, 0, 5
        _dump_sample(1, ceph_gt, [[4, 0], [0, -6], [0, 0]], mm, 'ceph'),
        _dump_sample(2, ceph_gt, [[2, 0], [0, 0], [0, 10]], mm, 'ceph', visible_pairs=True),
        # errors (px@512): 2, 2
        _dump_sample(3, [[100, 100], [500, 900]], [[4, 0], [0, 8]], chest, 'chest'),
    ]
    if not with_calibration:
        samples = [s for s in samples if s['dataset_name'] == 'ceph']
        for s in samples:
            del s['calibration']
    with open(path, 'wb') as f:
        pickle.dump(samples, f, protocol=protocol)
    return str(path)


@pytest.mark.parametrize('protocol', [2, pickle.HIGHEST_PROTOCOL])
def test_dump_with_calibration_needs_no_ann_file(tmp_path, protocol):
    dump = _dump(tmp_path / 'preds.pkl', protocol=protocol)
    out = tmp_path / 'out'
    metrics = evaluate_predictions(dump, str(out), worst=1)['metrics']
    assert metrics['MRE_mm'] == pytest.approx(11 / 6)
    assert metrics['SDR_2mm'] == pytest.approx(50.0)  # 0, 1, 0 of 2, 3, 0, 1, 0, 5
    assert metrics['MRE_px@512'] == pytest.approx(2.0)
    assert metrics['SDR_2px@512'] == pytest.approx(0.0)  # strict
    assert metrics['ceph/MRE_mm'] == pytest.approx(11 / 6)
    assert metrics['chest/MRE_px@512'] == pytest.approx(2.0)

    rows = _read_csv(out / 'per_landmark.csv')
    assert [(r['dataset'], r['unit'], r['landmark']) for r in rows] == [
        ('ceph', 'mm', '0'), ('ceph', 'mm', '1'), ('ceph', 'mm', '2'),
        ('chest', 'px@512', '0'), ('chest', 'px@512', '1')]
    assert [float(r['MRE']) for r in rows] == pytest.approx([1.5, 1.5, 2.5, 2.0, 2.0])
    # Ranked within each dataset, as their units differ.
    worst = _read_json(out / 'worst_images.json')
    assert [(w['dataset'], w['img_id']) for w in worst] == [('ceph', 2), ('chest', 3)]
    assert worst[0]['img_path'] == 'ceph/2.png'
    assert _is_png(out / 'cdf.png') and _is_png(out / 'per_landmark_mre.png')


def test_dump_of_the_synthetic_set_gets_landmark_names(tmp_path):
    # The dump has no names; the dataset class registered for it does.
    gt = np.arange(20, dtype=float).reshape(10, 2)
    calibration = dict(spacing=(1, 1), unit='mm', normalize=None)
    sample = _dump_sample(5, gt, np.zeros((10, 2)), calibration, 'synthetic_ceph')
    path = tmp_path / 'preds.pkl'
    with open(path, 'wb') as f:
        pickle.dump([sample], f, protocol=2)
    result = evaluate_predictions(str(path), str(tmp_path / 'out'))
    assert result['per_landmark'][0]['name'] == 'sella'
    assert result['metrics']['MRE_mm'] == 0.0


def test_dump_without_calibration_uses_the_dataset(tmp_path):
    dump = _dump(tmp_path / 'preds.pkl', with_calibration=False)
    with pytest.raises(EvaluationInputError, match=r'image id 1 \(ceph/1.png\): the predictions '
                       r'carry no calibration; pass --config or --ann-file'):
        evaluate_predictions(dump, str(tmp_path / 'a'))
    # Ground truth and calibration of the dataset take precedence.
    coco = _annotation(images=(1, 2), spacings={1: [1.0, 1.0], 2: [1.0, 1.0]},
                       gt={1: [[10, 10], [20, 20], [30, 30]], 2: [[12, 10], [20, 20], [30, 40]]},
                       visible={1: [2, 2, 2], 2: [2, 2, 2]})
    coco['categories'][0]['keypoints'] = ['a', 'b', 'c']
    ann = _write(tmp_path / 'ann.json', coco)
    result = evaluate_predictions(dump, str(tmp_path / 'c'), ann_file=ann)
    # image 1: 4, 6, 0; image 2 (gt moved onto the prediction): 0, 0, 0
    assert result['metrics']['MRE_mm'] == pytest.approx(10 / 6)
    assert [r['name'] for r in result['per_landmark']] == ['a', 'b', 'c']


def test_pickle_with_other_objects_needs_trust(tmp_path):
    dump = _dump(tmp_path / 'preds.pkl')
    with open(dump, 'rb') as f:
        samples = pickle.load(f)
    samples[0]['created'] = datetime.date(2024, 1, 1)
    with open(dump, 'wb') as f:
        pickle.dump(samples, f, protocol=2)
    with pytest.raises(EvaluationInputError, match='datetime.date is not allowed.*--trust-pickle'):
        evaluate_predictions(dump, str(tmp_path / 'a'))
    metrics = evaluate_predictions(dump, str(tmp_path / 'b'), trust_pickle=True)['metrics']
    assert metrics['MRE_mm'] == pytest.approx(11 / 6)


# ---------------------------------------------------------- protocol rules
def _class_annotation(num_keypoints, gt, size, spacings=None):
    """An annotation file for a dataset class with ``num_keypoints`` landmarks."""
    full = {}
    for img_id, points in gt.items():
        base = [[5 + 3 * k, 5 + 2 * k] for k in range(num_keypoints)]
        for k, xy in points.items():
            base[k] = xy
        full[img_id] = base
    names = [f'l{k}' for k in range(num_keypoints)]
    coco = _annotation(images=tuple(gt), spacings=spacings or {}, gt=full,
                       visible={i: [2] * num_keypoints for i in gt}, size=size)
    coco['categories'][0]['keypoints'] = names
    return coco, full


def _offset_predictions(full, offsets):
    return [dict(image_id=img_id, keypoints=[
        [x + offsets[img_id].get(k, (0, 0))[0], y + offsets[img_id].get(k, (0, 0))[1]]
        for k, (x, y) in enumerate(points)]) for img_id, points in full.items()]


def test_hand_class_applies_the_wrist_rule_and_its_radii(tmp_path):
    # Wrist landmarks 1 and 5 are 100 px apart on image 1 (0.5 mm / px once
    # scaled to 50 mm) and 40 px on image 2 (1.25 mm / px).
    gt = {1: {1: [10, 50], 5: [110, 50]}, 2: {1: [10, 10], 5: [10, 50]}}
    coco, full = _class_annotation(37, gt, (200, 200))
    ann = _write(tmp_path / 'ann.json', coco)
    offsets = {1: {0: (2, 0), 2: (6, 8)}, 2: {5: (4, 0), 3: (0, 2)}}  # 1, 5; 5, 2.5 mm
    preds = _write(tmp_path / 'preds.json', _offset_predictions(full, offsets))
    expected = np.array([1.0, 5.0] + [0] * 35 + [5.0, 2.5] + [0] * 35)
    result = evaluate_predictions(preds, str(tmp_path / 'o'), ann_file=ann,
                                  dataset_type='HandXrayDataset')
    metrics = result['metrics']
    assert metrics['MRE_mm'] == pytest.approx(expected.mean())
    # The hand protocol's radii 2/4/10 mm, as tools/test.py reports them.
    assert [k for k in metrics if k.startswith('SDR_')] == ['SDR_2mm', 'SDR_4mm', 'SDR_10mm']
    assert metrics['SDR_4mm'] == pytest.approx(100 * (1 - 2 / 74))
    assert list(result['per_landmark'][0])[-3:] == ['SDR_2', 'SDR_4', 'SDR_10']
    # A wrist landmark without ground truth cannot scale the image.
    coco['annotations'][1]['keypoints'][5] = 0
    _write(tmp_path / 'ann.json', coco)
    with pytest.raises(EvaluationInputError, match='image id 2 .*normalisation landmark 1 has no'):
        evaluate_predictions(preds, str(tmp_path / 'o3'), ann_file=ann,
                             dataset_type='HandXrayDataset')


def test_chest_class_applies_the_px512_rule(tmp_path):
    # 1024 x 256 image: spacing (0.5, 2.0) px@512 per px, whatever its own spacing.
    gt = {1: {0: [100, 100], 1: [200, 50], 2: [300, 200]}}
    coco, full = _class_annotation(6, gt, (1024, 256), spacings={1: [0.1, 0.1]})
    ann = _write(tmp_path / 'ann.json', coco)
    offsets = {1: {0: (4, 0), 1: (0, 1), 2: (6, 2)}}  # 2.0, 2.0, |(3, 4)| = 5.0, then 0
    preds = _write(tmp_path / 'preds.json', _offset_predictions(full, offsets))
    out = tmp_path / 'out'
    metrics = evaluate_predictions(preds, str(out), ann_file=ann, dataset_type='ChestXrayDataset',
                                   inclusive=True)['metrics']
    assert set(metrics) == {'MRE_px@512', 'STD_px@512', 'MedianRE_px@512', 'SDR_3px@512',
                            'SDR_6px@512', 'SDR_9px@512'}
    assert metrics['MRE_px@512'] == pytest.approx(9 / 6)
    assert metrics['SDR_3px@512'] == pytest.approx(100 * 5 / 6)
    assert _read_csv(out / 'per_image.csv')[0]['unit'] == 'px@512'


# --------------------------------------------------------------- bad input
def _bad(tmp_path, preds=None, coco=None, options=None):
    options = dict(spacing=[1.0]) if options is None else options
    ann = _write(tmp_path / 'ann.json', coco or _annotation())
    pred_file = _write(tmp_path / 'preds.json', _predictions() if preds is None else preds)
    out = tmp_path / 'out'
    with pytest.raises(EvaluationInputError) as info:
        evaluate_predictions(pred_file, str(out), ann_file=ann, **options)
    assert not out.exists()  # nothing written on failure
    return str(info.value)


def test_landmark_count_mismatch(tmp_path):
    preds = _predictions()
    preds[1]['keypoints'] = preds[1]['keypoints'][:6]  # 3 (x, y) pairs for 4 landmarks
    assert 'image id 2 (img_2.png): 6 numbers' in _bad(tmp_path, preds)
    preds = _predictions()
    preds[2]['keypoints'] = preds[2]['keypoints'][:3]
    assert 'image id 3 (img_3.png): 3 predicted landmarks for 4' in _bad(tmp_path, preds)


def test_prediction_for_unknown_image(tmp_path):
    preds = _predictions() + [dict(image_id=99, keypoints=[0.0] * 8)]
    assert 'image id 99 has a prediction but no annotation' in _bad(tmp_path, preds)


def test_ground_truth_image_without_prediction(tmp_path):
    message = _bad(tmp_path, _predictions(images=(1, 3)))
    assert 'image id 2 of' in message and 'has no prediction' in message


def test_empty_predictions(tmp_path):
    assert 'no predictions' in _bad(tmp_path, [])


def test_missing_calibration(tmp_path):
    message = _bad(tmp_path, options={})
    assert 'ann.json, image id 3: no pixel spacing' in message


def test_duplicate_and_non_finite_predictions(tmp_path):
    preds = _predictions()
    assert 'image id 1: more than one' in _bad(tmp_path, preds + preds[:1])
    preds[0]['keypoints'][4] = float('nan')
    assert 'image id 1 (img_1.png): predicted keypoints contain NaN' in _bad(tmp_path, preds)


def test_bad_options(tmp_path):
    out = str(tmp_path / 'o')
    with pytest.raises(EvaluationInputError, match='two sources of ground truth'):
        evaluate_predictions('p.json', out, config='c.py', ann_file='a.json')
    with pytest.raises(EvaluationInputError, match='--spacing takes one number or two'):
        evaluate_predictions('p.json', out, spacing=[1.0, 2.0, 3.0])
    assert not osp.exists(out)
    message = _bad(tmp_path, options=dict(dataset_type='NoSuchDataset'))
    assert 'NoSuchDataset' in message


# -------------------------------------------------------------- overwrite
def test_never_overwrites_without_flag(inputs):
    _run(inputs)
    out = inputs['out']
    before = {name: open(osp.join(out, name), 'rb').read() for name in OUTPUTS}
    # Different predictions: a second run would change every file.
    offsets = {k: [[2 * x, 2 * y] for x, y in v] for k, v in OFFSETS.items()}
    _write(inputs['preds'], _predictions(offsets=offsets))
    with pytest.raises(FileExistsError, match='Refusing to overwrite.*--overwrite'):
        _run(inputs)
    assert before == {name: open(osp.join(out, name), 'rb').read() for name in OUTPUTS}
    metrics = _run(inputs, overwrite=True)['metrics']
    assert metrics['MRE_mm'] == pytest.approx(2 * 19 / 11)
    assert _read_json(osp.join(out, 'metrics.json'))['MRE_mm'] == pytest.approx(2 * 19 / 11)


def test_one_existing_output_blocks_the_run(inputs):
    os.makedirs(inputs['out'])
    with open(osp.join(inputs['out'], 'cdf.png'), 'w') as f:
        f.write('mine')
    with pytest.raises(FileExistsError, match='cdf.png'):
        _run(inputs)
    assert not osp.exists(osp.join(inputs['out'], 'metrics.json'))
    with open(osp.join(inputs['out'], 'cdf.png')) as f:
        assert f.read() == 'mine'


def _command(args, cwd):
    return subprocess.run([sys.executable, TOOL, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS='1'))


@pytest.mark.slow
def test_command_line_runs_from_any_folder(inputs, tmp_path):
    # The installed package, not the checkout's folder on sys.path, serves the script.
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    proc = _command(['--help'], elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert '--dataset-type' in proc.stdout
    # Flags reach the library under their own names.
    proc = _command([inputs['preds'], '--ann-file', inputs['ann'], '--out-dir', inputs['out'],
                     '--spacing', '1', '--worst', '2', '--inclusive'], elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert 'wrote metrics.json' in proc.stdout
    metrics = _read_json(osp.join(inputs['out'], 'metrics.json'))
    assert metrics['MRE_mm'] == pytest.approx(19 / 11)
    assert metrics['SDR_2mm'] == pytest.approx(100 * 8 / 11)
    assert len(_read_json(osp.join(inputs['out'], 'worst_images.json'))) == 2
    # What cannot be done exits with the reason.
    proc = _command([inputs['preds'], '--ann-file', inputs['ann'], '--out-dir', inputs['out']],
                    elsewhere)
    assert proc.returncode == 1 and 'error: Refusing to overwrite' in proc.stderr
