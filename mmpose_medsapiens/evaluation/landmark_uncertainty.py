"""The former home of the landmark-uncertainty names, re-exported from theirs.

The math lives in :mod:`mmpose_medsapiens.evaluation.functional.uncertainty`,
:func:`heatmaps_in_predictions` in
:mod:`mmpose_medsapiens.evaluation.uncertainty_calibration`. Import from
there; this module keeps the older import path working for callers outside
``evaluation`` (``mmpose_medsapiens.apis``, ``tools/infer.py``) until they move.
"""
from .functional.uncertainty import (CALIBRATION_FORMAT, ConformalCalibration, heatmap_spread,
                                     predicted_heatmap_spread, spearman, spread_in_image_pixels)
from .uncertainty_calibration import heatmaps_in_predictions

__all__ = [
    'CALIBRATION_FORMAT', 'ConformalCalibration', 'heatmap_spread', 'heatmaps_in_predictions',
    'predicted_heatmap_spread', 'spearman', 'spread_in_image_pixels'
]
