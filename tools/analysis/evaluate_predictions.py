"""Evaluate saved landmark predictions offline: MRE / SDR tables, plots, worst images.

``PREDICTIONS`` is either

- the pickle written by ``tools/test.py CONFIG CKPT --dump preds.pkl``: a list
  of per-sample dicts with ``img_id``, ``img_path``, ``pred_instances``
  (``keypoints`` of shape (1, K, 2) in original-image pixels) and, when the
  test config's ``PackPoseInputs`` keeps them, ``gt_instances``,
  ``calibration`` and ``dataset_name``; or
- a JSON list ``[{"image_id": int, "keypoints": [...]}, ...]`` where
  ``keypoints`` holds K ``(x, y)`` or ``(x, y, score)`` entries, flat or
  nested (COCO keypoint results, with ``3 * K`` numbers, are accepted as
  they are).

Ground truth and calibration (spacing, unit, normalisation rule, SDR radii)
come from the dataset class that produced the predictions, exactly as in
``tools/test.py``:

- ``--config CONFIG [--split test]``: the config's ``<split>_dataloader``
  dataset (type, annotation file, data root and options as configured);
- ``--ann-file ANN [--dataset-type TYPE] [--data-root DIR] [--spacing S]``:
  that class (default ``MedicalLandmarkDataset``, which names the landmarks
  after the file's category) on that file; ``--spacing`` is the dataset's
  spacing for images without their own;
- neither: the dump's own ``gt_instances`` and ``calibration``.

SDR radii and success rule: ``--radii`` / ``--inclusive``, else those of the
config's ``MedicalLandmarkMetric`` (``--config``), else each dataset's protocol
radii and the strict ``PE < r``.

Errors, MRE and SDR come from :class:`MedicalLandmarkMetric`, as in
``tools/test.py`` (the work is done by
:func:`mmpose_medsapiens.evaluation.evaluate_predictions`). Written into
``--out-dir`` (existing files are kept unless ``--overwrite``):

- ``metrics.json``: the metric's keys (``MRE_mm``, ``SDR_2mm``...);
- ``per_landmark.csv``: count, MRE, STD and SDR of every landmark;
- ``per_image.csv``: every image's mean, max and per-landmark errors;
- ``worst_images.json``: the ``--worst`` images of highest mean error
  (per dataset when several are evaluated together);
- ``cdf.png``: cumulative distribution of the radial error per dataset;
- ``per_landmark_mre.png``: MRE of every landmark.

A dump is unpickled with an allow-list of numpy types only; ``--trust-pickle``
loads other content (e.g. torch tensors), which can run code: use it only
for files you produced.

Usage:
    python tools/analysis/evaluate_predictions.py PREDICTIONS --out-dir DIR \
        [--config CONFIG [--split test] | --ann-file ANN [--dataset-type TYPE] \
         [--data-root DIR] [--spacing S [S]]] [--radii R ...] [--inclusive] \
        [--worst 10] [--dataset-name NAME] [--trust-pickle] [--overwrite]
"""
import argparse
import sys

import mmpose_medsapiens  # noqa: F401  (registers the datasets and the metric)
from mmpose_medsapiens.evaluation.offline_evaluation import (EvaluationInputError, check_options,
                                                             evaluate_predictions)


def parse_args(argv=None):
    """The command line; ``argv`` defaults to ``sys.argv[1:]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('predictions',
                        help='tools/test.py --dump pickle, or predictions JSON')
    parser.add_argument('--out-dir', required=True, help='folder for tables and plots')
    parser.add_argument('--config', help="ground truth and calibration of this config's "
                        '<split>_dataloader dataset')
    parser.add_argument('--split', choices=('train', 'val', 'test'), default='test',
                        help='dataloader of --config (default: test)')
    parser.add_argument('--ann-file', help='COCO-style ground truth read by --dataset-type')
    parser.add_argument('--dataset-type', default='MedicalLandmarkDataset',
                        help='registered dataset class of --ann-file, whose calibration rule '
                        'applies (e.g. HandXrayDataset, ChestXrayDataset; default: '
                        'MedicalLandmarkDataset)')
    parser.add_argument('--data-root', default=None, help='data_root of --dataset-type')
    parser.add_argument('--spacing', type=float, nargs='+', metavar='S',
                        help="the dataset's pixel spacing (one number, or x y) for images "
                        'without one')
    parser.add_argument('--radii', type=float, nargs='+', default=None,
                        help="SDR radii in the error unit (default: each dataset's protocol "
                        'radii)')
    parser.add_argument('--inclusive', action='store_true',
                        help='count PE <= r as success (default: strict PE < r)')
    parser.add_argument('--worst', type=int, default=10,
                        help='number of worst images to list per dataset (default: 10)')
    parser.add_argument('--dataset-name',
                        help="label for predictions without one (default: the dataset's)")
    parser.add_argument('--trust-pickle', action='store_true',
                        help='unpickle dumps without the numpy-only allow-list')
    parser.add_argument('--overwrite', action='store_true', help='replace existing outputs')
    args = parser.parse_args(argv)
    try:
        check_options(args.config, args.ann_file, args.spacing, args.radii, args.worst)
    except EvaluationInputError as e:
        parser.error(str(e))
    return args


def main(argv=None):
    """Evaluate as the command line says; exit with the reason when the input is bad.

    Returns:
        dict: What :func:`evaluate_predictions` returns.
    """
    args = parse_args(argv)
    try:
        return evaluate_predictions(**vars(args))
    except (ValueError, OSError) as e:
        sys.exit(f'error: {e}')


if __name__ == '__main__':
    main()
