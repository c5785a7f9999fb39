"""Radial errors and the SDR rule of ``evaluation.functional``, worked by hand."""
import numpy as np
import pytest

from mmpose_medsapiens.evaluation.functional import radial_errors, success, success_rate


def test_radial_errors_scale_each_axis_by_its_spacing():
    gt = np.array([[10.0, 10.0], [20.0, 20.0]])
    pred = gt + [[3, 0], [3, 4]]
    # (3 * 0.5, 0) -> 1.5; (3 * 0.5, 4 * 0.25) -> |(1.5, 1)|
    errors = radial_errors(pred, gt, dict(spacing=(0.5, 0.25), unit='mm', normalize=None))
    np.testing.assert_allclose(errors, [1.5, np.hypot(1.5, 1.0)])
    assert errors.dtype == np.float64


def test_radial_errors_with_a_normalisation_pair():
    # Landmarks 0 and 1 are 40 px apart; the rule makes them 50 mm: 1.25 mm / px.
    gt = np.array([[0.0, 0.0], [40.0, 0.0], [10.0, 10.0]], np.float32)
    pred = gt + np.array([[0, 0], [4, 0], [0, -8]], np.float32)
    calibration = dict(spacing=(1.0, 1.0), unit='mm', normalize=dict(pair=(0, 1), distance=50))
    np.testing.assert_allclose(radial_errors(pred, gt, calibration), [0.0, 5.0, 10.0])
    with pytest.raises(ValueError, match='coincide'):
        radial_errors(pred, np.zeros((3, 2)), calibration)


def test_success_is_strict_unless_inclusive():
    errors = np.array([1.0, 2.0, 2.5, 4.0])
    assert success(errors, 2.0).tolist() == [True, False, False, False]
    assert success(errors, 2.0, inclusive=True).tolist() == [True, True, False, False]
    assert success_rate(errors, 2.5) == pytest.approx(50.0)
    assert success_rate(errors, 2.5, inclusive=True) == pytest.approx(75.0)
    assert isinstance(success_rate(errors, 10), float) and success_rate(errors, 10) == 100.0
