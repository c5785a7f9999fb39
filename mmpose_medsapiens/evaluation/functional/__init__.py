"""Evaluation math as plain functions (numpy/torch), used by the datasets, the
metric, the offline evaluation and the deployed model alike."""
from .calibration import DEFAULT_SDR_RADII, Calibration, spacing_xy
from .measurements import measure, resolve_measurements

__all__ = ['DEFAULT_SDR_RADII', 'Calibration', 'spacing_xy', 'measure', 'resolve_measurements']
