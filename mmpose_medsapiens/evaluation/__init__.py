"""Evaluation: the registered metric, offline evaluation and uncertainty calibration.

:mod:`.offline_evaluation` (saved predictions against any annotation file)
sits above the datasets and is imported by its module path; the datasets
import :mod:`.functional`, which runs this ``__init__``, so nothing here may
import them.

:mod:`.functional` holds the math (radial errors, SDR, measurements,
heatmap spread, conformal calibration) as plain functions, :mod:`.reports`
the tables, plots and printed report, :mod:`.metrics` the registered
``MedicalLandmarkMetric`` that calls both.
"""
from .mean_shape_baseline import mean_shape_baseline
from .metrics import *  # noqa: F401,F403
from .metrics import __all__ as _metrics_all
from .uncertainty_calibration import calibrate_uncertainty, evaluate_with_uncertainty

__all__ = _metrics_all + [
    'calibrate_uncertainty', 'evaluate_with_uncertainty', 'mean_shape_baseline'
]
