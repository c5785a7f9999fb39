"""MedicalLandmarkMetric against an independent Payer-style reference."""
import numpy as np
import pytest

from mmpose_medsapiens.evaluation import MedicalLandmarkMetric


def _reference(preds, gts, spacings, factors, radii):
    """Landmark statistics as in Payer et al.'s evaluator used by MedSapiens.

    point error = factor * ||(gt - pred) * spacing||; outliers are PE >= r.
    """
    pes = []
    for pred, gt, spacing, factor in zip(preds, gts, spacings, factors):
        for p, g in zip(pred, gt):
            diff = (np.array(g, float) - np.array(p, float)) * np.array(spacing, float)
            pes.append(factor * np.sqrt(np.sum(diff ** 2)))
    pes = np.array(pes)
    out = {'mre': np.mean(pes), 'std': np.std(pes)}
    for r in radii:
        out[r] = 100.0 - 100.0 * np.count_nonzero(pes >= r) / len(pes)
    return out


def _samples(rng, n, k, calibration_fn, dataset_name=''):
    samples, preds, gts = [], [], []
    for i in range(n):
        w, h = int(rng.integers(500, 3000)), int(rng.integers(500, 3000))
        gt = rng.uniform(0, [w - 1, h - 1], size=(k, 2))
        pred = gt + rng.normal(0, 15, size=(k, 2))
        cal = calibration_fn(w, h)
        samples.append(dict(img_id=i, img_path=f'img_{i}.png', dataset_name=dataset_name,
                            calibration=cal, pred_instances=dict(keypoints=pred[None]),
                            gt_instances=dict(keypoints=gt[None],
                                              keypoints_visible=np.ones((1, k)))))
        preds.append(pred)
        gts.append(gt)
    return samples, preds, gts


RULES = {
    'head_0.1mm': lambda w, h: dict(spacing=(0.1, 0.1), unit='mm', normalize=None),
    'legs_per_image': lambda w, h: dict(spacing=(0.155, 0.139), unit='mm', normalize=None),
    'chest_px512': lambda w, h: dict(spacing=(512 / w, 512 / h), unit='px@512', normalize=None),
    'hand_wrist': lambda w, h: dict(spacing=(1.0, 1.0), unit='mm',
                                    normalize=dict(pair=(1, 5), distance=50.0)),
}


@pytest.mark.parametrize('rule', sorted(RULES))
def test_matches_reference_protocol(rule):
    rng = np.random.default_rng(0)
    radii = (2, 2.5, 3, 4, 10)
    samples, preds, gts = _samples(rng, 7, 8, RULES[rule])
    metric = MedicalLandmarkMetric(radii=radii)
    metric.process([], samples)
    out = metric.compute_metrics(metric.results)

    factors = []
    for s, gt in zip(samples, gts):
        norm = s['calibration']['normalize']
        factors.append(1.0 if norm is None else 50.0 / np.linalg.norm(
            (gt[1] - gt[5]) * np.array(s['calibration']['spacing'])))
    ref = _reference(preds, gts, [s['calibration']['spacing'] for s in samples], factors, radii)
    unit = samples[0]['calibration']['unit']
    assert abs(out[f'MRE_{unit}'] - ref['mre']) < 1e-9
    assert abs(out[f'STD_{unit}'] - ref['std']) < 1e-9
    for r in radii:
        assert abs(out[f'SDR_{r:g}{unit}'] - ref[r]) < 1e-9


def test_strict_vs_inclusive_success():
    gt = np.zeros((1, 2, 2))
    pred = np.array([[[2.0, 0.0], [0.0, 1.0]]])  # errors exactly 2 and 1 (spacing 1)
    sample = dict(img_id=0, calibration=dict(spacing=(1, 1), unit='mm', normalize=None),
                  pred_instances=dict(keypoints=pred),
                  gt_instances=dict(keypoints=gt, keypoints_visible=np.ones((1, 2))))
    for inclusive, expected in ((False, 50.0), (True, 100.0)):
        metric = MedicalLandmarkMetric(radii=(2, ), inclusive=inclusive)
        metric.process([], [sample])
        assert metric.compute_metrics(metric.results)['SDR_2mm'] == expected


@pytest.mark.parametrize('visible_shape', ['NK', 'NK2'])
def test_invisible_landmarks_are_excluded(visible_shape):
    gt = np.zeros((1, 3, 2))
    pred = np.array([[[1.0, 0.0], [3.0, 0.0], [100.0, 0.0]]])
    visible = np.array([[1, 1, 0]], dtype=float)
    if visible_shape == 'NK2':
        visible = np.repeat(visible[..., None], 2, axis=-1)
    sample = dict(img_id=0, calibration=dict(spacing=(1, 1), unit='mm', normalize=None),
                  pred_instances=dict(keypoints=pred),
                  gt_instances=dict(keypoints=gt, keypoints_visible=visible))
    metric = MedicalLandmarkMetric(radii=(2, ))
    metric.process([], [sample])
    out = metric.compute_metrics(metric.results)
    assert out['MRE_mm'] == pytest.approx(2.0)
    assert out['SDR_2mm'] == pytest.approx(50.0)


def test_per_dataset_breakdown():
    rng = np.random.default_rng(1)
    head, *_ = _samples(rng, 3, 19, RULES['head_0.1mm'], 'head')
    chest, *_ = _samples(rng, 2, 6, RULES['chest_px512'], 'chest')
    metric = MedicalLandmarkMetric()
    metric.process([], head + chest)
    out = metric.compute_metrics(metric.results)
    assert {'MRE_mm', 'MRE_px@512', 'head/MRE_mm', 'chest/MRE_px@512'} <= set(out)
    only_head = MedicalLandmarkMetric()
    only_head.process([], head)
    assert out['head/MRE_mm'] == only_head.compute_metrics(only_head.results)['MRE_mm']


def test_bad_input_names_the_image():
    sample = dict(img_id=7, img_path='a/b.png',
                  pred_instances=dict(keypoints=np.zeros((1, 3, 2))),
                  gt_instances=dict(keypoints=np.zeros((1, 3, 2)),
                                    keypoints_visible=np.ones((1, 3))))
    metric = MedicalLandmarkMetric()
    with pytest.raises(KeyError, match='a/b.png.*calibration'):
        metric.process([], [sample])
    sample['calibration'] = dict(spacing=(1, 1), unit='mm', normalize=None)
    sample['pred_instances'] = dict(keypoints=np.zeros((1, 4, 2)))
    with pytest.raises(ValueError, match='a/b.png: 4 predicted landmarks for 3'):
        metric.process([], [sample])
    with pytest.raises(ValueError, match='no results'):
        metric.compute_metrics([])


def test_default_radii_come_from_each_dataset_protocol():
    rng = np.random.default_rng(2)
    head, *_ = _samples(rng, 2, 19, lambda w, h: dict(RULES['head_0.1mm'](w, h),
                                                      radii=(2, 2.5, 3, 4)), 'head')
    hand, *_ = _samples(rng, 2, 37, lambda w, h: dict(RULES['hand_wrist'](w, h),
                                                      radii=(2, 4, 10)), 'hand')
    metric = MedicalLandmarkMetric()
    metric.process([], head + hand)
    out = metric.compute_metrics(metric.results)
    assert {'head/SDR_2.5mm', 'head/SDR_4mm', 'hand/SDR_10mm'} <= set(out)
    assert 'hand/SDR_2.5mm' not in out and 'head/SDR_10mm' not in out
    assert {'SDR_2mm', 'SDR_2.5mm', 'SDR_3mm', 'SDR_4mm', 'SDR_10mm'} <= set(out)
    fixed = MedicalLandmarkMetric(radii=(1, ))
    fixed.process([], head)
    assert [k for k in fixed.compute_metrics(fixed.results) if k.startswith('SDR')] == ['SDR_1mm']


def test_outfile_prefix_dumps_per_image_json_and_csv(tmp_path):
    import csv
    import json
    gt = np.zeros((1, 2, 2))
    pred = np.array([[[3.0, 4.0], [0.0, 1.0]]])
    sample = dict(img_id=5, img_path='x/5.png', dataset_name='d',
                  calibration=dict(spacing=(1, 1), unit='mm', normalize=None),
                  pred_instances=dict(keypoints=pred),
                  gt_instances=dict(keypoints=gt, keypoints_visible=np.array([[1, 0]])))
    prefix = str(tmp_path / 'out' / 'run')
    metric = MedicalLandmarkMetric(outfile_prefix=prefix)
    metric.process([], [sample])
    metric.compute_metrics(metric.results)
    with open(prefix + '.per_image.json') as f:
        rows = json.load(f)
    assert rows == [dict(img_id=5, img_path='x/5.png', dataset_name='d', unit='mm',
                         pred=[[3.0, 4.0], [0.0, 1.0]], gt=[[0.0, 0.0], [0.0, 0.0]],
                         errors=[5.0, None], measurements={})]
    with open(prefix + '.per_image.csv') as f:
        table = list(csv.reader(f))
    # The columns of tools/analysis/evaluate_predictions.py's per_image.csv.
    assert table[0] == ['dataset', 'img_id', 'img_path', 'unit', 'count', 'MRE', 'max',
                        'worst_landmark', 'e0', 'e1']
    assert table[1] == ['d', '5', 'x/5.png', 'mm', '1', '5.000000', '5.000000', '0',
                        '5.000000', '']


# Two measurements on 3 landmarks: the distance a-b and the angle at b.
MEASURED = dict(spacing=(0.5, 0.5), unit='mm', normalize=None, measurements=(
    dict(name='AB', kind='distance', landmarks=(0, 1)),
    dict(name='ABC', kind='angle', landmarks=(0, 1, 2)),
    dict(name='ABC_minus_10', kind='difference', terms=('ABC', 'ABC'))))


def _measured_sample(i, pred, gt, visible=(1, 1, 1), dataset_name='', calibration=MEASURED):
    return dict(img_id=i, img_path=f'{i}.png', dataset_name=dataset_name,
                calibration=calibration, pred_instances=dict(keypoints=np.array([pred], float)),
                gt_instances=dict(keypoints=np.array([gt], float),
                                  keypoints_visible=np.array([visible], float)))


def test_measurement_errors_on_known_geometry():
    # Ground truth: b at the origin, a 10 px (5 mm) up, c to the right (90 deg).
    gt = [[0, -10], [0, 0], [10, 0]]
    # Image 1: a 16 px up (8 mm: 3 mm too long), c rotated to 45 deg (45 off).
    # Image 2: a 12 px up (6 mm: 1 mm too long), c at 60 deg from a (30 off).
    c60 = [10 * np.sin(np.radians(60)), -10 * np.cos(np.radians(60))]
    samples = [_measured_sample(1, [[0, -16], [0, 0], [10, -10]], gt),
               _measured_sample(2, [[0, -12], [0, 0], c60], gt)]
    metric = MedicalLandmarkMetric()
    metric.process([], samples)
    out = metric.compute_metrics(metric.results)
    assert out['AB_MAE_mm'] == pytest.approx(2.0) and out['AB_MAE_STD_mm'] == pytest.approx(1.0)
    assert out['ABC_MAE_deg'] == pytest.approx(37.5)
    assert out['ABC_MAE_STD_deg'] == pytest.approx(7.5)
    assert out['ABC_minus_10_MAE_deg'] == pytest.approx(0.0)  # ABC - ABC is 0 on both
    assert 'MRE_mm' in out  # next to the landmark errors


def test_measurements_need_ground_truth_of_every_landmark_used():
    gt = [[0, -10], [0, 0], [10, 0]]
    samples = [_measured_sample(1, [[0, -16], [0, 0], [10, 0]], gt, visible=(1, 1, 0)),
               _measured_sample(2, [[0, -12], [0, 0], [10, 0]], gt)]
    metric = MedicalLandmarkMetric()
    metric.process([], samples)
    out = metric.compute_metrics(metric.results)
    # The angle is measured on image 2 only; the distance on both.
    assert out['AB_MAE_mm'] == pytest.approx(2.0) and out['ABC_MAE_deg'] == pytest.approx(0.0)
    samples = [_measured_sample(1, [[0, -16], [0, 0], [10, 0]], gt, visible=(1, 1, 0))]
    metric = MedicalLandmarkMetric()
    metric.process([], samples)
    assert not any(k.startswith('ABC') for k in metric.compute_metrics(metric.results))


def test_measurements_are_per_dataset_in_mixed_runs_and_use_the_normalisation():
    hand = dict(MEASURED, spacing=(1.0, 1.0), normalize=dict(pair=(0, 1), distance=50.0))
    gt = [[0, -10], [0, 0], [10, 0]]
    samples = [_measured_sample(1, [[0, -16], [0, 0], [10, 0]], gt, dataset_name='head'),
               _measured_sample(2, [[0, -12], [0, 0], [10, 0]], gt, dataset_name='hand',
                                calibration=hand)]
    metric = MedicalLandmarkMetric()
    metric.process([], samples)
    out = metric.compute_metrics(metric.results)
    assert 'AB_MAE_mm' not in out
    assert out['head/AB_MAE_mm'] == pytest.approx(3.0)
    # The wrist rule makes the ground-truth a-b 50 mm: 12 px read 60 mm, 10 mm off.
    assert out['hand/AB_MAE_mm'] == pytest.approx(10.0)


def test_collect_dir_reaches_mmengine_for_multi_node_runs(tmp_path):
    from mmengine.registry import init_default_scope
    from mmpose.registry import METRICS
    init_default_scope('mmpose')
    metric = METRICS.build(dict(type='MedicalLandmarkMetric', collect_dir=str(tmp_path)))
    assert metric.collect_dir == str(tmp_path) and metric.collect_device == 'cpu'
    with pytest.raises(ValueError, match='could only be configured'):
        MedicalLandmarkMetric(collect_device='gpu', collect_dir=str(tmp_path))
