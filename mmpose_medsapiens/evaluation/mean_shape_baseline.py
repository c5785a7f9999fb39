"""The mean-shape baseline: the training set's mean landmarks, predicted for every image.

A model that has learned nothing about the images cannot beat it by much, so
demos and real-data benchmarks report their MRE/SDR next to this one.
"""
from typing import Dict, Optional, Sequence

import numpy as np

from .metrics import MedicalLandmarkMetric

FRAMES = ('pixels', 'box')


def _landmarks(dataset):
    """``(N, K, 2)`` points (NaN where not visible) and ``(N, 4)`` boxes."""
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    points = np.stack([np.asarray(info['keypoints'], np.float64)[0] for info in infos])
    visible = np.stack([np.asarray(info['keypoints_visible'])[0] > 0 for info in infos])
    points[~visible] = np.nan
    boxes = np.stack([np.asarray(info['bbox'], np.float64).reshape(4) for info in infos])
    return points, boxes, infos


def _to_box(points, boxes):
    """Pixels -> fractions of each image's box (x1, y1, x2, y2)."""
    return (points - boxes[:, None, :2]) / (boxes[:, None, 2:] - boxes[:, None, :2])


def mean_shape(dataset, frame: str = 'pixels') -> np.ndarray:
    """Mean landmark positions of a dataset, over the images that show each.

    Args:
        dataset: A built :class:`MedicalLandmarkDataset` (its data list holds
            ``keypoints`` (1, K, 2), ``keypoints_visible`` (1, K) and the
            whole-image ``bbox``).
        frame (str): ``'pixels'``: the mean in image pixels. ``'box'``: the
            mean as fractions of each image's box, i.e. of what the model is
            shown, so images of other sizes do not blur the mean.

    Returns:
        np.ndarray: ``(K, 2)`` mean positions (pixels, or box fractions).

    Raises:
        ValueError: A landmark is visible in no image.
    """
    if frame not in FRAMES:
        raise ValueError(f'frame must be one of {FRAMES}, got {frame!r}')
    points, boxes, _ = _landmarks(dataset)
    never = np.flatnonzero(np.isnan(points[..., 0]).all(axis=0))
    if never.size:
        raise ValueError(f'{dataset.ann_file}: landmark(s) {never.tolist()} are visible in no '
                         'image; there is no mean shape')
    if frame == 'box':
        points = _to_box(points, boxes)
    return np.nanmean(points, axis=0)


def mean_shape_baseline(train_dataset, test_dataset, frame: str = 'pixels',
                        radii: Optional[Sequence[float]] = None) -> Dict[str, float]:
    """MRE/SDR of predicting ``train_dataset``'s mean shape on every test image.

    Errors use each test sample's own calibration (spacing, wrist rule,
    radii), exactly as ``MedicalLandmarkMetric`` applies it to a model.
    With ``frame='pixels'`` both datasets must be in the same pixels (both
    the original images, not a working-resolution cache).

    Args:
        train_dataset: Built dataset the mean comes from.
        test_dataset: Built dataset it is evaluated on.
        frame (str): ``'pixels'`` (the mean pixel position everywhere) or
            ``'box'`` (the mean position relative to the image's box, mapped
            into each test image's box; a stronger baseline when image sizes
            differ). Defaults to ``'pixels'``.
        radii (Sequence[float], optional): SDR radii; defaults to the test
            dataset's protocol radii.

    Returns:
        dict: The metric's keys (``MRE_mm``, ``SDR_2mm``, ...).
    """
    mean = mean_shape(train_dataset, frame)
    _, boxes, infos = _landmarks(test_dataset)
    metric = MedicalLandmarkMetric(radii=radii)
    samples = []
    for info, box in zip(infos, boxes):
        pred = mean if frame == 'pixels' else box[:2] + mean * (box[2:] - box[:2])
        samples.append(dict(
            img_id=info['img_id'], img_path=info['img_path'],
            calibration=info['calibration'],
            pred_instances=dict(keypoints=pred[None]),
            gt_instances=dict(keypoints=np.asarray(info['keypoints']),
                              keypoints_visible=np.asarray(info['keypoints_visible']))))
    metric.process([], samples)
    return metric.compute_metrics(metric.results)
