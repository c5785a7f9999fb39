"""Evaluate saved landmark predictions offline, as ``tools/test.py`` would have.

Predictions are a ``tools/test.py --dump`` pickle or a predictions JSON (see
:func:`load_predictions`). Ground truth and calibration (spacing, unit,
normalisation rule, SDR radii) come from the dataset class that produced
them (:func:`build_reference`: a config's ``<split>_dataloader`` dataset, or
a dataset class on an annotation file), or else from the dump itself.
Errors, MRE and SDR come from :class:`MedicalLandmarkMetric`, so the keys and
numbers are those of ``tools/test.py``; :func:`evaluate_predictions` writes
the tables and plots of :mod:`mmpose_medsapiens.evaluation.reports`.

``tools/analysis/evaluate_predictions.py`` is its command line.
"""
import json
import logging
import os
import os.path as osp
import pickle
from collections import OrderedDict
from typing import Optional, Sequence, Tuple

import numpy as np
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS

from ..datasets import MedicalLandmarkDataset
from ..utils.file_writing import ensure_new_files
from ..utils.numpy_pickle_globals import NUMPY_PICKLE_GLOBALS
from .metrics import MedicalLandmarkMetric
from .reports import (per_image_rows, per_landmark_rows, plot_cdf, plot_per_landmark, print_report,
                      table_radii, worst_images, write_json, write_per_image_csv,
                      write_per_landmark_csv)

OUTPUT_FILES = ('metrics.json', 'per_landmark.csv', 'per_image.csv', 'worst_images.json',
                'cdf.png', 'per_landmark_mre.png')

# Globals a ``--dump`` pickle of numpy arrays needs: the package's numpy
# allow-list, plus what pickle itself uses for bytes and ordered dicts; any
# other object is refused unless ``trust_pickle``.
_PICKLE_ALLOWED = {tuple(entry.split(':')) for entry in NUMPY_PICKLE_GLOBALS} | {
    ('_codecs', 'encode'), ('collections', 'OrderedDict')}


class EvaluationInputError(ValueError):
    """Predictions, ground truth or options that cannot be evaluated."""


# ------------------------------------------------------------------ loading
class _NumpyOnlyUnpickler(pickle.Unpickler):

    def find_class(self, module, name):
        # numpy >= 1.25 pickles dtypes by their class in numpy.dtypes.
        dtype_class = module == 'numpy.dtypes' and name.endswith('DType')
        if (module, name) in _PICKLE_ALLOWED or dtype_class:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f'{module}.{name} is not allowed in a prediction dump; pass --trust-pickle to '
            f'load it anyway (only for files you produced yourself)')


def load_predictions(path: str, trust_pickle: bool = False) -> list:
    """Read predictions as a list of raw records, in file order.

    Args:
        path (str): A ``tools/test.py --dump`` pickle or a predictions JSON.
        trust_pickle (bool): Unpickle without the numpy-only allow-list.
            Defaults to False.

    Returns:
        list[dict]: ``img_id``, ``keypoints`` (raw), and from dumps
        ``img_path``, ``gt`` ((K, 2) or None), ``visible`` ((K, ) or None),
        ``calibration``, ``dataset_name`` and ``size`` ((W, H) or None).

    Raises:
        EvaluationInputError: Unreadable file, unknown layout or no
            predictions; the message names the file and the entry.
    """
    if not osp.isfile(path):
        raise EvaluationInputError(f'Predictions file {path} does not exist')
    with open(path, 'rb') as f:
        head = f.read(1)
    # Protocol >= 2 pickles start with the PROTO opcode; JSON never does.
    if head == b'\x80' or path.endswith(('.pkl', '.pickle')):
        with open(path, 'rb') as f:
            try:
                data = (pickle.load(f) if trust_pickle else _NumpyOnlyUnpickler(f).load())
            except Exception as e:  # a damaged pickle fails in many ways
                raise EvaluationInputError(f'{path}: cannot unpickle: {e}') from e
        records = _dump_records(data, path)
    else:
        try:
            with open(path, encoding='utf-8') as f:
                data = json.load(f)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise EvaluationInputError(f'{path}: neither a prediction dump (pickle) nor '
                                       f'valid JSON: {e}') from e
        records = _json_records(data, path)
    if not records:
        raise EvaluationInputError(f'{path}: no predictions')
    return records


def _dump_records(data, path: str) -> list:
    if not isinstance(data, (list, tuple)):
        raise EvaluationInputError(f'{path}: expected a list of samples as written by '
                                   f'tools/test.py --dump, got {type(data).__name__}')
    records = []
    for index, sample in enumerate(data):
        if not isinstance(sample, dict) or 'pred_instances' not in sample:
            raise EvaluationInputError(f'{path}: sample {index} has no "pred_instances"')
        img_id = sample.get('img_id', sample.get('id'))
        where = f'{path}, image id {img_id}'
        pred = _one_instance(sample['pred_instances'].get('keypoints'), where, 'prediction')
        gt = visible = None
        gt_inst = sample.get('gt_instances') or {}
        if gt_inst.get('keypoints') is not None and \
                gt_inst.get('keypoints_visible') is not None:
            gt = _one_instance(gt_inst['keypoints'], where, 'ground truth')
            visible = np.asarray(gt_inst['keypoints_visible'], dtype=np.float64)[0]
            if visible.ndim == 2:  # (K, 2) as written by KeypointConverter
                visible = visible[:, 0]
        size = None
        if sample.get('ori_shape') is not None:  # MMPose stores (h, w)
            size = (float(sample['ori_shape'][1]), float(sample['ori_shape'][0]))
        records.append(
            dict(img_id=img_id, img_path=sample.get('img_path'), keypoints=pred, gt=gt,
                 visible=visible, calibration=sample.get('calibration'),
                 dataset_name=sample.get('dataset_name'), size=size))
    return records


def _one_instance(keypoints, where: str, what: str) -> np.ndarray:
    if keypoints is None:
        raise EvaluationInputError(f'{where}: no {what} keypoints')
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[0] != 1 or keypoints.shape[2] != 2:
        raise EvaluationInputError(f'{where}: expected {what} keypoints of shape (1, K, 2) '
                                   f'(one whole-image instance), got {keypoints.shape}')
    return keypoints[0]


def _json_records(data, path: str) -> list:
    if isinstance(data, dict) and isinstance(data.get('annotations'), list):
        data = data['annotations']  # predictions saved in the annotation layout
    if not isinstance(data, list):
        raise EvaluationInputError(f'{path}: expected a JSON list of '
                                   f'{{"image_id", "keypoints"}} entries')
    records = []
    for index, entry in enumerate(data):
        if not isinstance(entry, dict) or 'keypoints' not in entry or \
                ('image_id' not in entry and 'img_id' not in entry):
            raise EvaluationInputError(f'{path}: entry {index} lacks "image_id" or "keypoints"')
        records.append(
            dict(img_id=entry.get('image_id', entry.get('img_id')), img_path=None,
                 keypoints=entry['keypoints'], gt=None, visible=None, calibration=None,
                 dataset_name=None, size=None))
    return records


def build_reference(config: Optional[str] = None, split: str = 'test',
                    ann_file: Optional[str] = None,
                    dataset_type: str = 'MedicalLandmarkDataset',
                    data_root: Optional[str] = None,
                    spacing: Optional[Sequence[float]] = None,
                    cfg: Optional[Config] = None) -> dict:
    """Ground truth and calibration of every image, from the dataset class.

    Either ``config`` (its ``<split>_dataloader`` dataset, as configured) or
    ``ann_file`` (read by ``dataset_type``).

    Args:
        config (str, optional): A config file.
        split (str): Dataloader of ``config``: ``'train'``, ``'val'`` or
            ``'test'``. Defaults to ``'test'``.
        ann_file (str, optional): A COCO-style annotation file.
        dataset_type (str): Registered dataset class of ``ann_file``, whose
            calibration rule applies. Defaults to ``'MedicalLandmarkDataset'``.
        data_root (str, optional): ``data_root`` of ``dataset_type``.
        spacing (Sequence[float], optional): The dataset's pixel spacing
            (one number, or x y) for images without one.
        cfg (Config, optional): ``config`` as read (read here if None).

    Returns:
        dict: ``source`` (the file read), ``names`` (landmark names),
        ``dataset_name`` and ``images``: img_id -> ``gt`` (K, 2),
        ``visible`` (K, ), ``calibration`` (dict) and ``img_path``.

    Raises:
        EvaluationInputError: The dataset cannot be built; names the file.
    """
    if config:
        cfg = cfg or Config.fromfile(config)
        loader = cfg.get(f'{split}_dataloader') or {}
        if 'dataset' not in loader:
            raise EvaluationInputError(f'{config} has no {split}_dataloader.dataset')
        ds_cfg = dict(loader['dataset'])
        if 'datasets' in ds_cfg or 'dataset' in ds_cfg:
            raise EvaluationInputError(
                f'{config}: {split}_dataloader.dataset combines several datasets; '
                f'evaluate each one with --ann-file ANN --dataset-type TYPE')
    else:
        ds_cfg = dict(type=dataset_type, ann_file=osp.abspath(ann_file),
                      data_root=data_root or '')
        if spacing is not None:
            ds_cfg['spacing'] = spacing
    ds_cfg.update(pipeline=[], test_mode=True, check_images=False)
    init_default_scope('mmpose')
    try:
        dataset = DATASETS.build(ds_cfg)
    except (ValueError, KeyError, OSError) as e:  # DatasetFormatError is a ValueError
        raise EvaluationInputError(str(e).strip('"\'')) from e
    if not isinstance(dataset, MedicalLandmarkDataset):
        raise EvaluationInputError(f'{type(dataset).__name__} is not a MedicalLandmarkDataset')
    id2name = dataset.metainfo.get('keypoint_id2name') or {}
    images = OrderedDict()
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        images[info['img_id']] = dict(
            gt=np.asarray(info['keypoints'], np.float64)[0],
            visible=np.asarray(info['keypoints_visible'], np.float64)[0],
            calibration=info['calibration'], img_path=info['img_path'])
    return dict(source=dataset.ann_file, images=images,
                dataset_name=dataset.metainfo.get('dataset_name') or '',
                names=[id2name[k] for k in sorted(id2name)] or None)


def build_samples(records: list, ref: Optional[dict],
                  dataset_name: Optional[str] = None) -> list:
    """Pair predictions with ground truth and calibration, as metric samples.

    Args:
        records (list[dict]): From :func:`load_predictions`.
        ref (dict, optional): From :func:`build_reference`; without it the
            dump's ground truth and calibration are used.
        dataset_name (str, optional): Label of predictions that carry no
            dataset name; by default the reference dataset's.

    Returns:
        list[dict]: Samples for :meth:`MedicalLandmarkMetric.process`.

    Raises:
        EvaluationInputError: Duplicate or unknown image ids, ground-truth
            images without prediction, landmark-count mismatch, non-finite
            predictions or missing calibration; naming the image.
    """
    seen = set()
    for rec in records:
        if rec['img_id'] in seen:
            raise EvaluationInputError(f'image id {rec["img_id"]}: more than one prediction')
        seen.add(rec['img_id'])
    if ref is not None:
        unknown = [rec['img_id'] for rec in records if rec['img_id'] not in ref['images']]
        if unknown:
            raise EvaluationInputError(
                f'image id {unknown[0]} has a prediction but no annotation in '
                f'{ref["source"]} ({len(unknown)} such image(s): {_first(unknown)})')
        missing = [img_id for img_id in ref['images'] if img_id not in seen]
        if missing:
            raise EvaluationInputError(
                f'image id {missing[0]} of {ref["source"]} has no prediction '
                f'({len(missing)} such image(s): {_first(missing)})')

    samples = []
    for rec in records:
        img_id = rec['img_id']
        truth = ref['images'][img_id] if ref is not None else dict(
            gt=rec['gt'], visible=rec['visible'], calibration=rec['calibration'],
            img_path=rec['img_path'])
        img_path = rec['img_path'] or truth['img_path']
        where = f'image id {img_id}' + (f' ({img_path})' if img_path else '')
        if truth['gt'] is None:
            raise EvaluationInputError(f'{where}: the predictions carry no ground truth; '
                                       f'pass --config or --ann-file')
        if truth['calibration'] is None:
            raise EvaluationInputError(f'{where}: the predictions carry no calibration; '
                                       f'pass --config or --ann-file (and --dataset-type)')
        gt, visible = truth['gt'], truth['visible']
        num_keypoints = len(gt)
        pred = _prediction_xy(rec['keypoints'], num_keypoints, where)
        if not np.isfinite(pred).all():
            # The metric would take a NaN error for an invisible landmark.
            raise EvaluationInputError(f'{where}: predicted keypoints contain NaN or infinity')
        if len(visible) != num_keypoints:
            raise EvaluationInputError(f'{where}: {len(visible)} visibility flags for '
                                       f'{num_keypoints} landmarks')
        _check_normalize(truth['calibration'].get('normalize'), gt, visible, where)
        samples.append(
            dict(img_id=img_id, img_path=img_path,
                 dataset_name=_dataset_name(rec, ref, dataset_name),
                 calibration=truth['calibration'],
                 pred_instances=dict(keypoints=pred[None]),
                 gt_instances=dict(keypoints=np.asarray(gt, np.float64)[None],
                                   keypoints_visible=np.asarray(visible, np.float64)[None])))
    return samples


def _first(ids, n=10):
    return ', '.join(str(i) for i in ids[:n]) + (', ...' if len(ids) > n else '')


def _prediction_xy(keypoints, num_keypoints: int, where: str) -> np.ndarray:
    try:
        arr = np.asarray(keypoints, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise EvaluationInputError(f'{where}: predicted keypoints are not numbers: {e}') from e
    if arr.ndim == 1:  # flat [x, y, (score), ...]
        for width in (2, 3):
            if arr.size == width * num_keypoints:
                return arr.reshape(num_keypoints, width)[:, :2]
        raise EvaluationInputError(
            f'{where}: {arr.size} numbers in the predicted keypoints; the ground truth has '
            f'{num_keypoints} landmarks ({2 * num_keypoints} or {3 * num_keypoints} numbers '
            f'expected)')
    if arr.ndim == 2 and arr.shape[1] in (2, 3):
        if arr.shape[0] != num_keypoints:
            raise EvaluationInputError(f'{where}: {arr.shape[0]} predicted landmarks for '
                                       f'{num_keypoints} ground-truth landmarks')
        return arr[:, :2]
    raise EvaluationInputError(f'{where}: predicted keypoints of shape {arr.shape}; expected '
                               f'(K, 2), (K, 3) or a flat list')


def _check_normalize(rule, gt, visible, where: str):
    if not rule:
        return
    i, j = rule['pair']
    if not (0 <= i < len(gt) and 0 <= j < len(gt)) or i == j:
        raise EvaluationInputError(f'{where}: normalisation pair ({i}, {j}) is not two '
                                   f'distinct landmarks of 0..{len(gt) - 1}')
    if visible[i] <= 0 or visible[j] <= 0:
        absent = i if visible[i] <= 0 else j
        raise EvaluationInputError(f'{where}: normalisation landmark {absent} has no ground '
                                   f'truth')


def _dataset_name(rec: dict, ref: Optional[dict], dataset_name: Optional[str]) -> str:
    if rec['dataset_name']:
        return rec['dataset_name']
    if dataset_name:
        return dataset_name
    if ref is not None:
        return ref['dataset_name']
    return ''


def landmark_names(dataset_names, ref: dict) -> dict:
    """Landmark names per dataset: the reference dataset's, else a dataset class's.

    Args:
        dataset_names (Iterable[str]): Names found in the samples.
        ref (dict, optional): From :func:`build_reference`.

    Returns:
        dict: dataset name -> list of names (only where known).
    """
    if ref is not None and ref['names']:
        return {name: ref['names'] for name in dataset_names}
    found = {}
    # Dumps carry no names, but the dataset class that produced them does.
    for cls in DATASETS.module_dict.values():
        if isinstance(cls, type) and issubclass(cls, MedicalLandmarkDataset):
            meta = getattr(cls, 'METAINFO', None) or {}
            if meta.get('dataset_name') in dataset_names and meta.get('keypoint_info'):
                info = meta['keypoint_info']
                found[meta['dataset_name']] = [info[k]['name'] for k in sorted(info)]
    return found


# ------------------------------------------------------------- evaluation
def evaluate(samples: list, radii, inclusive: bool):
    """Run :class:`MedicalLandmarkMetric` on the samples.

    Args:
        samples (list[dict]): From :func:`build_samples`.
        radii (Sequence[float]): SDR radii.
        inclusive (bool): Count ``PE <= r`` as success.

    Returns:
        tuple: The metric dict and the metric's per-image results (each
        with ``errors`` (K, ), NaN where the ground truth is invisible).
    """
    logger = MMLogger.get_current_instance()
    level = logger.level
    # The metric warns that it has no key prefix (none is wanted: the keys
    # match tools/test.py's) and logs a short per-landmark table, which the
    # fuller tables printed here replace.
    logger.setLevel(logging.ERROR)
    try:
        metric = MedicalLandmarkMetric(radii=radii, inclusive=inclusive)
        for sample in samples:
            try:
                metric.process([], [sample])
            except (KeyError, ValueError) as e:
                msg = str(e).strip('"\'')  # KeyError quotes its message
                raise EvaluationInputError(f'image id {sample["img_id"]}: {msg}') from e
        try:
            metrics = metric.compute_metrics(metric.results)
        except ValueError as e:
            raise EvaluationInputError(str(e)) from e
    finally:
        logger.setLevel(level)
    return metrics, metric.results


# -------------------------------------------------------------- the run
def check_options(config: Optional[str] = None, ann_file: Optional[str] = None,
                  spacing: Optional[Sequence[float]] = None,
                  radii: Optional[Sequence[float]] = None, worst: int = 10) -> None:
    """Refuse option combinations :func:`evaluate_predictions` cannot honour.

    Args:
        config (str, optional): A config file (one source of ground truth).
        ann_file (str, optional): An annotation file (the other source).
        spacing (Sequence[float], optional): One number, or x y.
        radii (Sequence[float], optional): SDR radii.
        worst (int): Worst images to list per dataset.

    Raises:
        EvaluationInputError: Naming the option, in the command line's words.
    """
    if config and ann_file:
        raise EvaluationInputError(
            '--config and --ann-file are two sources of ground truth; choose one')
    if spacing is not None and len(spacing) not in (1, 2):
        raise EvaluationInputError('--spacing takes one number or two (x y)')
    if radii is not None and any(not r > 0 for r in radii):
        raise EvaluationInputError('--radii must be positive')
    if worst < 0:
        raise EvaluationInputError('--worst must be >= 0')


def metric_options_of_config(cfg: Config, split: str = 'test',
                             radii: Optional[Sequence[float]] = None,
                             inclusive: bool = False) -> Tuple[Optional[list], bool]:
    """Radii and success rule of the config's ``MedicalLandmarkMetric``, unless given.

    Args:
        cfg (Config): The config read.
        split (str): Whose ``<split>_evaluator`` to read. Defaults to ``'test'``.
        radii (Sequence[float], optional): Radii given by the caller; they win.
        inclusive (bool): True given by the caller wins over the config.

    Returns:
        tuple: ``(radii, inclusive)`` to evaluate with.
    """
    evaluators = cfg.get(f'{split}_evaluator') or []
    if isinstance(evaluators, dict):
        evaluators = [evaluators]
    metric = next((e for e in evaluators if e.get('type') == 'MedicalLandmarkMetric'), None)
    if metric is None:
        return radii, inclusive
    if radii is None and metric.get('radii') is not None:
        radii = [float(r) for r in metric['radii']]
    if not inclusive:
        inclusive = bool(metric.get('inclusive', False))
    return radii, inclusive


def evaluate_predictions(predictions: str, out_dir: str, config: Optional[str] = None,
                         split: str = 'test', ann_file: Optional[str] = None,
                         dataset_type: str = 'MedicalLandmarkDataset',
                         data_root: Optional[str] = None,
                         spacing: Optional[Sequence[float]] = None,
                         radii: Optional[Sequence[float]] = None, inclusive: bool = False,
                         worst: int = 10, dataset_name: Optional[str] = None,
                         trust_pickle: bool = False, overwrite: bool = False) -> dict:
    """Evaluate saved predictions and write every table and plot into ``out_dir``.

    Writes :data:`OUTPUT_FILES`: ``metrics.json`` (the metric's keys),
    ``per_landmark.csv``, ``per_image.csv``, ``worst_images.json``,
    ``cdf.png`` and ``per_landmark_mre.png``, and prints the report. All
    or none: nothing is written when an output exists (unless
    ``overwrite``) or the input cannot be evaluated.

    Args:
        predictions (str): A ``tools/test.py --dump`` pickle or a predictions
            JSON (see :func:`load_predictions`).
        out_dir (str): Folder for the tables and plots.
        config, split, ann_file, dataset_type, data_root, spacing: The
            source of ground truth and calibration (see
            :func:`build_reference`); with neither ``config`` nor
            ``ann_file``, the dump's own.
        radii (Sequence[float], optional): SDR radii; by default the
            config's metric's, else each dataset's protocol radii.
        inclusive (bool): Count ``PE <= r`` as success (also when the
            config's metric says so). Defaults to False.
        worst (int): Worst images to list per dataset. Defaults to 10.
        dataset_name (str, optional): Label of predictions without one.
        trust_pickle (bool): Unpickle without the numpy-only allow-list
            (can run code: only for files you produced). Defaults to False.
        overwrite (bool): Replace existing outputs. Defaults to False.

    Returns:
        dict: ``metrics``, ``per_landmark``, ``per_image``, ``worst`` and
        ``files`` (the paths written).

    Raises:
        EvaluationInputError: Bad options, predictions or ground truth.
        FileExistsError: An output exists and not ``overwrite``.
    """
    check_options(config, ann_file, spacing, radii, worst)
    files = OrderedDict((name, osp.join(out_dir, name)) for name in OUTPUT_FILES)
    # Checked before any work so that a run writes all of its files or none.
    ensure_new_files(files.values(), overwrite)

    records = load_predictions(predictions, trust_pickle)
    cfg = Config.fromfile(config) if config else None  # read once: data and metric
    if cfg is not None:
        radii, inclusive = metric_options_of_config(cfg, split, radii, inclusive)
    ref = build_reference(config, split, ann_file, dataset_type, data_root, spacing,
                          cfg=cfg) if config or ann_file else None
    samples = build_samples(records, ref, dataset_name)
    metrics, results = evaluate(samples, radii, inclusive)

    names = landmark_names({s['dataset_name'] for s in samples}, ref)
    landmark_rows = per_landmark_rows(results, names, radii, inclusive)
    image_rows = per_image_rows(results)
    worst_rows = worst_images(image_rows, worst)

    os.makedirs(out_dir, exist_ok=True)
    write_json(files['metrics.json'], dict(metrics))
    write_per_landmark_csv(files['per_landmark.csv'], landmark_rows)
    write_per_image_csv(files['per_image.csv'], image_rows)
    write_json(files['worst_images.json'], worst_rows)
    plot_cdf(files['cdf.png'], results, table_radii(results, radii))
    plot_per_landmark(files['per_landmark_mre.png'], landmark_rows)

    print_report(metrics, landmark_rows, worst_rows)
    print(f'\nwrote {", ".join(OUTPUT_FILES)} in {out_dir}')
    return dict(metrics=metrics, per_landmark=landmark_rows, per_image=image_rows,
                worst=worst_rows, files=files)
