"""Run a model over a split and calibrate or score its landmark uncertainty.

The math (heatmap spread, conformal quantiles) is
:mod:`mmpose_medsapiens.evaluation.functional.uncertainty`; this module drives
the model that produces the heatmaps.
"""
import contextlib
from typing import Optional

import numpy as np
import torch
import torch.nn as nn

from .functional.uncertainty import ConformalCalibration
from .metrics import MedicalLandmarkMetric


@contextlib.contextmanager
def heatmaps_in_predictions(model: nn.Module, enabled: bool = True):
    """Have ``model``'s predictions carry their heatmaps inside the block.

    Sets ``test_cfg['output_heatmaps']`` (when ``enabled``) and restores it.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator``.
        enabled (bool): Turn the heatmaps on; False leaves ``test_cfg`` as
            it is. Defaults to True.
    """
    previous = model.test_cfg.get('output_heatmaps', False)
    model.test_cfg['output_heatmaps'] = enabled or previous
    try:
        yield model
    finally:
        model.test_cfg['output_heatmaps'] = previous


def evaluate_with_uncertainty(model: nn.Module, dataloader,
                              calibration: Optional[ConformalCalibration] = None
                              ) -> MedicalLandmarkMetric:
    """The metric after processing ``dataloader`` with heatmaps in the predictions.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator`` in eval mode.
        dataloader: A dataloader of a ``MedicalLandmarkDataset``.
        calibration (ConformalCalibration, optional): Reported as coverage.

    Returns:
        MedicalLandmarkMetric: Its ``results`` hold each image's ``spread``
        and ``pixel_errors``; ``compute_metrics(results)`` gives the metrics.
    """
    metric = MedicalLandmarkMetric()
    metric.uncertainty_calibration = calibration
    metric.dataset_meta = dataloader.dataset.metainfo
    with heatmaps_in_predictions(model), torch.no_grad():
        for batch in dataloader:
            metric.process(batch, [output.to_dict() for output in model.test_step(batch)])
    return metric


def calibrate_uncertainty(model: nn.Module, dataloader, coverage: float = 0.9,
                          fingerprint: str = '') -> ConformalCalibration:
    """Split-conformal calibration of ``model``'s landmark spreads on ``dataloader``.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator`` in eval mode.
        dataloader: The validation split's dataloader.
        coverage (float): Nominal coverage of the radii.
        fingerprint (str): The model's fingerprint, stored in the calibration.
    """
    results = evaluate_with_uncertainty(model, dataloader).results
    spreads = np.stack([r['spread'] for r in results])
    errors = np.stack([r['pixel_errors'] for r in results])
    names = dataloader.dataset.metainfo.get('keypoint_id2name', {})
    return ConformalCalibration.fit(errors, spreads, coverage,
                                    [names.get(k, str(k)) for k in range(errors.shape[1])],
                                    fingerprint)
