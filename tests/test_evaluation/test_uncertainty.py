"""Heatmap spread, split-conformal radii, and their report in the metric."""
import json

import numpy as np
import pytest
import torch
from helpers.off_cpu import off_cpu

from mmpose_medsapiens.evaluation import MedicalLandmarkMetric
from mmpose_medsapiens.evaluation.functional import (ConformalCalibration, heatmap_spread,
                                                     predicted_heatmap_spread, spearman,
                                                     spread_in_image_pixels)
from mmpose_medsapiens.evaluation.uncertainty_calibration import heatmaps_in_predictions


def gaussian(cx, cy, sigma, size=(16, 20)):
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w]
    return np.exp(-((xs - cx)**2 + (ys - cy)**2) / (2 * sigma**2)).astype(np.float32)


def test_spread_of_a_peak_with_four_neighbours_worked_by_hand():
    heatmap = np.zeros((1, 1, 11, 11), np.float32)
    heatmap[0, 0, 5, 5] = 1.0
    heatmap[0, 0, [4, 6, 5, 5], [5, 5, 4, 6]] = 0.5
    heatmap[0, 0, 0, 0] = 0.9  # outside the window: ignored
    # four unit distances of weight 0.5 over a total mass of 3
    assert heatmap_spread(torch.from_numpy(heatmap))[0, 0].item() == pytest.approx(
        np.sqrt(2 / 3), rel=1e-6)


def test_wider_peaks_spread_more_and_empty_windows_are_infinite():
    heatmaps = np.stack([gaussian(8, 10, 1.0), gaussian(8, 10, 2.0), -gaussian(8, 10, 2.0)])
    spread = heatmap_spread(torch.from_numpy(heatmaps)[None])[0].numpy()
    assert spread[0] < spread[1] and np.isinf(spread[2])


def test_spread_to_image_pixels_follows_the_udp_scale():
    # heatmap 16 x 20 over a 300 x 380 box: x_img = x_hm * 300 / 15, y: 380 / 19
    np.testing.assert_allclose(spread_in_image_pixels([1.0, 2.0], (16, 20), (300, 380)),
                               [20.0, 40.0])


def test_spearman_with_ties_worked_by_hand():
    # ranks x: 0, 1.5, 1.5, 3; y: 0, 2, 1, 3 -> Pearson of the ranks
    rx, ry = np.array([0, 1.5, 1.5, 3]), np.array([0, 2, 1, 3.])
    assert spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(np.corrcoef(rx, ry)[0, 1])
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_conformal_rank_and_too_small_splits():
    errors = np.arange(1, 10, dtype=float)[:, None] * np.ones((1, 2))
    spreads = np.ones((9, 2))
    errors[:, 1] = np.nan
    errors[:8, 1] = np.arange(1, 9)
    cal = ConformalCalibration.fit(errors, spreads, 0.9, ['a', 'b'], 'f')
    # n = 9: rank ceil(10 * 0.9) = 9, the largest; n = 8: rank 9 > 8, no finite radius
    assert cal.quantiles[0] == 9.0 and np.isinf(cal.quantiles[1])
    assert cal.num_samples == [9, 8]
    np.testing.assert_allclose(cal.radius([[2.0, 1.0]]), [[18.0, np.inf]])
    assert cal.outside_validation([1.0, 1.5]).tolist() == [False, True]


def test_coverage_holds_on_exchangeable_data():
    rng = np.random.default_rng(0)

    def draw(n):
        spread = rng.uniform(0.5, 3.0, (n, 4))
        return spread * np.abs(rng.normal(size=(n, 4))), spread
    cal = ConformalCalibration.fit(*draw(300), 0.9, list('abcd'), 'f')
    errors, spread = draw(5000)
    coverage = (errors <= cal.radius(spread)).mean()
    assert 0.88 <= coverage <= 0.93, coverage


def test_calibration_file_round_trip_and_bad_files(tmp_path):
    cal = ConformalCalibration([1.5, float('inf')], [2.0, float('nan')], 0.9, ['a', 'b'],
                               'abc', [30, 5])
    path = str(tmp_path / 'cal.json')
    cal.dump(path)
    back = ConformalCalibration.load(path)
    assert back.quantiles[0] == 1.5 and np.isinf(back.quantiles[1]) and back.path == path
    back.check_model('abc', ['a', 'b'])
    with pytest.raises(ValueError, match='cal.json was calibrated for the model with '
                       'fingerprint abc, other.onnx has xyz'):
        back.check_model('xyz', ['a', 'b'], 'other.onnx')
    with pytest.raises(ValueError, match='cal.json is for 2 landmarks'):
        back.check_model('abc', ['a'])
    (tmp_path / 'bad.json').write_text(json.dumps({'format': 1, 'coverage': 0.9}))
    with pytest.raises(ValueError, match='bad.json is not an uncertainty calibration'):
        ConformalCalibration.load(str(tmp_path / 'bad.json'))
    with pytest.raises(FileNotFoundError, match='none.json does not exist'):
        ConformalCalibration.load(str(tmp_path / 'none.json'))
    with pytest.raises(ValueError, match='coverage'):
        ConformalCalibration.fit(np.ones((3, 1)), np.ones((3, 1)), 1.5, ['a'], 'f')


def sample(gt, pred, sigmas, scale=(300, 380)):
    """A data sample dict with heatmaps whose spreads grow with ``sigmas``."""
    heatmaps = np.stack([gaussian(8, 10, s) for s in sigmas])
    return dict(img_id=0, img_path='x.png', calibration=dict(spacing=(0.1, 0.1), unit='mm',
                                                             radii=(2.0, )),
                input_scale=np.array(scale, np.float32),
                pred_instances=dict(keypoints=np.array([pred], np.float32)),
                gt_instances=dict(keypoints=np.array([gt], np.float32),
                                  keypoints_visible=np.ones((1, len(gt)))),
                pred_fields=dict(heatmaps=torch.from_numpy(heatmaps)))


def test_metric_reports_rank_correlation_and_coverage(tmp_path):
    gt = np.zeros((3, 2))
    samples = [sample(gt, gt + [[1, 0], [3, 0], [9, 0]], [1.0, 1.5, 2.5]),
               sample(gt, gt + [[2, 0], [4, 0], [12, 0]], [1.2, 1.8, 3.0])]
    # Quantiles set so that the radius covers exactly the first two landmarks' errors.
    spread = [spread_in_image_pixels(heatmap_spread(torch.as_tensor(
        s['pred_fields']['heatmaps'])[None])[0].numpy(), (16, 20), (300, 380)) for s in samples]
    path = str(tmp_path / 'cal.json')
    q = np.array([2.0, 4.0, 12.0]) / np.max(spread, axis=0)
    ConformalCalibration(q * [1, 1, 0.5], np.max(spread, axis=0), 0.9, list('abc'), 'f',
                         [2, 2, 2]).dump(path)
    metric = MedicalLandmarkMetric(uncertainty_calibration=path)
    metric.process([], samples)
    out = metric.compute_metrics(metric.results)
    assert out['uncertainty_spearman'] == pytest.approx(1.0)
    assert out['coverage_90'] == pytest.approx(100 * 4 / 6)
    assert out['outside_validation'] == 0.0
    assert out['MRE_mm'] == pytest.approx(np.mean([1, 3, 9, 2, 4, 12]) * 0.1)


def test_metric_without_heatmaps_reports_no_uncertainty():
    s = sample(np.zeros((3, 2)), np.ones((3, 2)), [1, 1, 1])
    del s['pred_fields']
    metric = MedicalLandmarkMetric()
    metric.process([], [s])
    assert not any('uncertainty' in k or 'coverage' in k
                   for k in metric.compute_metrics(metric.results))


def test_metric_refuses_a_calibration_of_another_landmark_count(tmp_path):
    path = str(tmp_path / 'cal5.json')
    ConformalCalibration([1.0] * 5, [1.0] * 5, 0.9, list('abcde'), 'f', [9] * 5).dump(path)
    metric = MedicalLandmarkMetric(uncertainty_calibration=path)
    with pytest.raises(ValueError, match='x.png: 3 landmarks, but .*cal5.json calibrates 5'):
        metric.process([], [sample(np.zeros((3, 2)), np.ones((3, 2)), [1, 1, 1])])


def test_spread_of_heatmaps_left_on_the_model_device():
    # MMPose leaves pred_fields.heatmaps where the model ran (CUDA on a GPU).
    heatmaps = torch.from_numpy(np.stack([gaussian(8, 10, s) for s in (1.0, 2.0)]))
    expected = predicted_heatmap_spread(heatmaps, (300, 380))
    got = predicted_heatmap_spread(off_cpu(heatmaps), (300, 380))
    assert isinstance(got, np.ndarray) and np.array_equal(got, expected)


def test_metric_takes_heatmaps_left_on_the_model_device():
    gt = np.zeros((3, 2))
    plain = sample(gt, gt + 1, [1.0, 1.5, 2.5])
    on_device = sample(gt, gt + 1, [1.0, 1.5, 2.5])
    on_device['pred_fields']['heatmaps'] = off_cpu(on_device['pred_fields']['heatmaps'])
    metrics = []
    for s in (plain, on_device):
        metric = MedicalLandmarkMetric()
        metric.process([], [s])
        metrics.append(metric.results[0]['spread'])
    assert np.array_equal(metrics[0], metrics[1])


def test_spearman_of_too_few_or_constant_values_is_nan():
    assert np.isnan(spearman([1.0], [2.0]))
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_heatmaps_in_predictions_restores_the_test_cfg():

    class Model:

        def __init__(self, **test_cfg):
            self.test_cfg = test_cfg

    model = Model(flip_test=True)
    with heatmaps_in_predictions(model) as inside:
        assert inside is model and model.test_cfg['output_heatmaps'] is True
    assert model.test_cfg == dict(flip_test=True, output_heatmaps=False)
    model = Model(output_heatmaps=True)
    with heatmaps_in_predictions(model, enabled=False):
        assert model.test_cfg['output_heatmaps'] is True  # left as the config has it
    assert model.test_cfg['output_heatmaps'] is True
    model = Model()
    with pytest.raises(RuntimeError):
        with heatmaps_in_predictions(model):
            raise RuntimeError
    assert model.test_cfg['output_heatmaps'] is False
