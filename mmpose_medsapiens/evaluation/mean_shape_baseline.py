"""The mean-shape baseline: the training set's mean landmarks, predicted for every image.

A model that has learned nothing about the images cannot beat it by much, so
demos and real-data benchmarks report their MRE/SDR next to this one.
"""
from typing import Dict, Optional, Sequence

import numpy as np

from .metrics import MedicalLandmarkMetric


def mean_shape(dataset) -> np.ndarray:
    """Mean landmark positions of a dataset, over the images that show each.

    Args:
        dataset: A built :class:`MedicalLandmarkDataset` (its data list holds
            ``keypoints`` (1, K, 2) and ``keypoints_visible`` (1, K)).

    Returns:
        np.ndarray: ``(K, 2)`` mean positions in the dataset's pixels.

    Raises:
        ValueError: A landmark is visible in no image.
    """
    points = np.stack([np.asarray(dataset.get_data_info(i)['keypoints'], np.float64)[0]
                       for i in range(len(dataset))])
    visible = np.stack([np.asarray(dataset.get_data_info(i)['keypoints_visible'])[0] > 0
                        for i in range(len(dataset))])
    never = np.flatnonzero(~visible.any(axis=0))
    if never.size:
        raise ValueError(f'{dataset.ann_file}: landmark(s) {never.tolist()} are visible in no '
                         'image; there is no mean shape')
    points[~visible] = np.nan
    return np.nanmean(points, axis=0)


def mean_shape_baseline(train_dataset, test_dataset,
                        radii: Optional[Sequence[float]] = None) -> Dict[str, float]:
    """MRE/SDR of predicting ``train_dataset``'s mean shape on every test image.

    Errors use each test sample's own calibration (spacing, wrist rule,
    radii), exactly as ``MedicalLandmarkMetric`` applies it to a model.
    Both datasets must be in the same pixels (both original images, or both
    one working-resolution cache with equal scales); use the original files.

    Args:
        train_dataset: Built dataset the mean comes from.
        test_dataset: Built dataset it is evaluated on.
        radii (Sequence[float], optional): SDR radii; defaults to the test
            dataset's protocol radii.

    Returns:
        dict: The metric's keys (``MRE_mm``, ``SDR_2mm``, ...).
    """
    mean = mean_shape(train_dataset)
    metric = MedicalLandmarkMetric(radii=radii)
    samples = []
    for i in range(len(test_dataset)):
        info = test_dataset.get_data_info(i)
        samples.append(dict(
            img_id=info['img_id'], img_path=info['img_path'],
            calibration=info['calibration'],
            pred_instances=dict(keypoints=mean[None]),
            gt_instances=dict(keypoints=np.asarray(info['keypoints']),
                              keypoints_visible=np.asarray(info['keypoints_visible']))))
    metric.process([], samples)
    return metric.compute_metrics(metric.results)
