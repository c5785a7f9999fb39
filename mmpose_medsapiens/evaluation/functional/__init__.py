"""Evaluation math as plain functions (numpy/torch), used by the datasets, the
metric, the offline evaluation and the deployed model alike.

Nothing here imports the datasets, models or mmengine's runner: the datasets
import this package, and so does the deployed model."""
from .calibration import DEFAULT_SDR_RADII, Calibration, normalisation_factor, spacing_xy
from .landmark_errors import radial_errors, success, success_rate
from .measurements import measure, measurement_unit, moved_measurements, resolve_measurements
from .uncertainty import (ConformalCalibration, heatmap_spread, predicted_heatmap_spread, spearman,
                          spread_in_image_pixels)

__all__ = [
    'DEFAULT_SDR_RADII', 'Calibration', 'normalisation_factor', 'spacing_xy', 'radial_errors',
    'success', 'success_rate', 'measure', 'measurement_unit', 'moved_measurements',
    'resolve_measurements', 'ConformalCalibration', 'heatmap_spread',
    'predicted_heatmap_spread', 'spearman', 'spread_in_image_pixels'
]
