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
``tools/test.py``. Written into ``--out-dir`` (existing files are kept unless
``--overwrite``):

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
import json
import logging
import os
import os.path as osp
import pickle
import runpy
import sys
from collections import OrderedDict

# The tools' one bootstrap (tools/_bootstrap.py): repository root on sys.path,
# plugin registered; sub-folder scripts cannot import it by name.
runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), os.pardir, '_bootstrap.py'))

import numpy as np  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmpose.registry import DATASETS  # noqa: E402

import mmpose_medsapiens  # noqa: E402,F401  (registers the datasets and metric)
from mmpose_medsapiens.datasets import MedicalLandmarkDataset  # noqa: E402
from mmpose_medsapiens.conversion.file_writing import ensure_new_files  # noqa: E402
from mmpose_medsapiens.utils.numpy_pickle_globals import NUMPY_PICKLE_GLOBALS  # noqa: E402
from mmpose_medsapiens.evaluation import MedicalLandmarkMetric  # noqa: E402
from mmpose_medsapiens.evaluation.error_tables import (  # noqa: E402
    group_by_dataset, per_image_rows, per_landmark_rows, table_radii, write_per_image_csv,
    write_per_landmark_csv)

OUTPUT_FILES = ('metrics.json', 'per_landmark.csv', 'per_image.csv', 'worst_images.json',
                'cdf.png', 'per_landmark_mre.png')

# Globals a ``--dump`` pickle of numpy arrays needs: the package's numpy
# allow-list, plus what pickle itself uses for bytes and ordered dicts; any
# other object is refused unless ``--trust-pickle``.
_PICKLE_ALLOWED = {tuple(entry.split(':')) for entry in NUMPY_PICKLE_GLOBALS} | {
    ('_codecs', 'encode'), ('collections', 'OrderedDict')}


class EvaluationInputError(ValueError):
    """Predictions, ground truth or options that cannot be evaluated."""


# ------------------------------------------------------------------ loading
class _NumpyOnlyUnpickler(pickle.Unpickler):

    def find_class(self, module, name):
        if (module, name) in _PICKLE_ALLOWED or (module == 'numpy.dtypes'
                                                  and name.endswith('DType')):
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


def build_reference(args, cfg: Config = None) -> dict:
    """Ground truth and calibration of every image, from the dataset class.

    Args:
        args (argparse.Namespace): ``config`` and ``split``, or ``ann_file``,
            ``dataset_type``, ``data_root`` and ``spacing``.
        cfg (Config, optional): ``args.config`` as read (read here if None).

    Returns:
        dict: ``source`` (the file read), ``names`` (landmark names),
        ``dataset_name`` and ``images``: img_id -> ``gt`` (K, 2),
        ``visible`` (K, ), ``calibration`` (dict) and ``img_path``.

    Raises:
        EvaluationInputError: The dataset cannot be built; names the file.
    """
    if args.config:
        cfg = cfg or Config.fromfile(args.config)
        loader = cfg.get(f'{args.split}_dataloader') or {}
        if 'dataset' not in loader:
            raise EvaluationInputError(f'{args.config} has no {args.split}_dataloader.dataset')
        ds_cfg = dict(loader['dataset'])
        if 'datasets' in ds_cfg or 'dataset' in ds_cfg:
            raise EvaluationInputError(
                f'{args.config}: {args.split}_dataloader.dataset combines several datasets; '
                f'evaluate each one with --ann-file ANN --dataset-type TYPE')
    else:
        ds_cfg = dict(type=args.dataset_type, ann_file=osp.abspath(args.ann_file),
                      data_root=args.data_root or '')
        if args.spacing is not None:
            ds_cfg['spacing'] = args.spacing
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


# --------------------------------------------------------------- matching
def build_samples(records: list, ref: dict, args) -> list:
    """Pair predictions with ground truth and calibration, as metric samples.

    Args:
        records (list[dict]): From :func:`load_predictions`.
        ref (dict, optional): From :func:`build_reference`; without it the
            dump's ground truth and calibration are used.
        args (argparse.Namespace): ``dataset_name``.

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
                 dataset_name=_dataset_name(rec, ref, args), calibration=truth['calibration'],
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


def _dataset_name(rec: dict, ref: dict, args) -> str:
    if rec['dataset_name']:
        return rec['dataset_name']
    if args.dataset_name:
        return args.dataset_name
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


def worst_images(image_rows: list, num: int) -> list:
    """The ``num`` images of highest mean error in each dataset.

    Errors of different datasets may be in different units, so images are
    ranked within their dataset. Images without a visible landmark are left out.

    Args:
        image_rows (list[dict]): From :func:`per_image_rows`.
        num (int): Images per dataset.

    Returns:
        list[dict]: ``rank`` (1 = worst), dataset, image and its errors.
    """
    out = []
    datasets = list(OrderedDict.fromkeys(row['dataset'] for row in image_rows))
    for dataset in datasets:
        rows = [r for r in image_rows if r['dataset'] == dataset and r['count']]
        rows.sort(key=lambda r: r['MRE'], reverse=True)
        for rank, row in enumerate(rows[:num], start=1):
            entry = OrderedDict(rank=rank)
            entry.update((k, v) for k, v in row.items() if k != 'errors')
            entry['errors'] = [None if np.isnan(e) else float(e) for e in row['errors']]
            out.append(entry)
    return out


# ---------------------------------------------------------------- writing
def _json_ready(value):
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_json(path: str, data):
    """Write ``data`` as JSON; numpy scalars as numbers, NaN as null."""
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(_json_ready(data), f, indent=2)


def _new_figure(width: float, height: float):
    # The Agg canvas directly, not pyplot: no global backend switch or
    # figure registry in the caller's process.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def plot_cdf(path: str, results: list, radii):
    """Cumulative distribution of the radial error, one curve per dataset.

    Args:
        path (str): PNG to write.
        results (list[dict]): The metric's results.
        radii (Sequence[float]): SDR radii, drawn as vertical lines.
    """
    fig = _new_figure(7, 4.8)
    ax = fig.add_subplot(1, 1, 1)
    units, all_errors = [], []
    for dataset, group in group_by_dataset(results).items():
        errors = np.concatenate([r['errors'] for r in group])
        errors = np.sort(errors[~np.isnan(errors)])
        if not errors.size:
            continue
        unit = group[0]['unit']
        units.append(unit)
        all_errors.append(errors)
        percent = 100.0 * np.arange(1, errors.size + 1) / errors.size
        ax.step(np.concatenate([[0.0], errors]), np.concatenate([[0.0], percent]),
                where='post', label=f'{dataset or "all"} (n={errors.size}, MRE '
                f'{errors.mean():.2f} {unit})')
    for index, r in enumerate(radii):
        # One legend entry for all radii: labels at the lines overlap.
        ax.axvline(r, color='0.5', linestyle='--', linewidth=0.8,
                   label=f'SDR radii ({", ".join(f"{x:g}" for x in radii)})'
                   if index == 0 else None)
    # Keep the SDR radii readable when a few outliers are far out.
    right = max(1.5 * max(radii), float(np.percentile(np.concatenate(all_errors), 99)) * 1.05)
    ax.set_xlim(0, right)
    ax.set_ylim(0, 100)
    unit_label = ' / '.join(OrderedDict.fromkeys(units))
    ax.set_xlabel(f'radial error ({unit_label})')
    ax.set_ylabel('landmarks within error (%)')
    ax.grid(True, alpha=0.3)
    ax.legend(loc='lower right', fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_per_landmark(path: str, landmark_rows: list):
    """Bar chart of the per-landmark MRE (with STD), one panel per dataset.

    Args:
        path (str): PNG to write.
        landmark_rows (list[dict]): From :func:`per_landmark_rows`.
    """
    datasets = list(OrderedDict.fromkeys(row['dataset'] for row in landmark_rows))
    most = max(sum(r['dataset'] == d for r in landmark_rows) for d in datasets)
    fig = _new_figure(max(6.0, 0.35 * most + 2), 3.6 * len(datasets))
    for index, dataset in enumerate(datasets, start=1):
        rows = [r for r in landmark_rows if r['dataset'] == dataset]
        ax = fig.add_subplot(len(datasets), 1, index)
        mre = np.array([r['MRE'] for r in rows])
        std = np.array([r['STD'] for r in rows])
        ax.bar(np.arange(len(rows)), np.nan_to_num(mre), yerr=np.nan_to_num(std),
               color='tab:blue', ecolor='0.4', capsize=2)
        named = all(r['name'] for r in rows)
        ax.set_xticks(np.arange(len(rows)))
        ax.set_xticklabels([r['name'] if named else str(r['landmark']) for r in rows],
                           rotation=60 if named else 0, ha='right' if named else 'center',
                           fontsize=8)
        if not named:
            ax.set_xlabel('landmark')
        ax.set_ylabel(f'MRE ({rows[0]["unit"]})')
        ax.set_title(f'per-landmark MRE{f" - {dataset}" if dataset else ""}', fontsize=10)
        ax.grid(True, axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def print_report(metrics: dict, landmark_rows: list, worst: list):
    print('metrics:')
    for key, value in metrics.items():
        print(f'  {key:<28s} {value:10.4f}')
    for dataset in OrderedDict.fromkeys(r['dataset'] for r in landmark_rows):
        rows = [r for r in landmark_rows if r['dataset'] == dataset]
        sdr_cols = [k for k in rows[0] if k.startswith('SDR_')]
        header = f'  {"#":>3s} {"name":<28s} {"n":>5s} {"MRE":>8s} {"STD":>8s} ' + \
            ' '.join(f'{c:>9s}' for c in sdr_cols)
        print(f'\nper landmark ({dataset or "dataset"}, {rows[0]["unit"]}, SDR in %):')
        print(header)
        for r in rows:
            print(f'  {r["landmark"]:3d} {r["name"]:<28s} {r["count"]:5d} '
                  f'{r["MRE"]:8.3f} {r["STD"]:8.3f} ' +
                  ' '.join(f'{r[c]:9.2f}' for c in sdr_cols))
    print('\nworst images (by mean error):')
    for w in worst:
        print(f'  {w["dataset"] or "-":<16s} #{w["rank"]:<3d} id {str(w["img_id"]):<10s} '
              f'MRE {w["MRE"]:8.3f} {w["unit"]}  max {w["max"]:8.3f} (landmark '
              f'{w["worst_landmark"]})  {w["img_path"] or ""}')


# ------------------------------------------------------------------- main
def parse_args(argv=None):
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
    if args.config and args.ann_file:
        parser.error('--config and --ann-file are two sources of ground truth; choose one')
    if args.spacing is not None and len(args.spacing) not in (1, 2):
        parser.error('--spacing takes one number or two (x y)')
    if args.radii is not None and any(not r > 0 for r in args.radii):
        parser.error('--radii must be positive')
    if args.worst < 0:
        parser.error('--worst must be >= 0')
    return args


def _metric_options_of_config(args, cfg: Config) -> None:
    """Radii and success rule of the config's evaluator, unless given here."""
    evaluators = cfg.get(f'{args.split}_evaluator') or []
    if isinstance(evaluators, dict):
        evaluators = [evaluators]
    metric = next((e for e in evaluators if e.get('type') == 'MedicalLandmarkMetric'), None)
    if metric is None:
        return
    if args.radii is None and metric.get('radii') is not None:
        args.radii = [float(r) for r in metric['radii']]
    if not args.inclusive:
        args.inclusive = bool(metric.get('inclusive', False))


def run(args) -> dict:
    """Evaluate and write every output; see the module docstring.

    Args:
        args (argparse.Namespace): From :func:`parse_args`.

    Returns:
        dict: ``metrics``, ``per_landmark``, ``per_image``, ``worst`` and
        ``files`` (the paths written).
    """
    out_dir = args.out_dir
    files = OrderedDict((name, osp.join(out_dir, name)) for name in OUTPUT_FILES)
    # Checked before any work so that a run writes all of its files or none.
    ensure_new_files(files.values(), args.overwrite)

    records = load_predictions(args.predictions, args.trust_pickle)
    cfg = Config.fromfile(args.config) if args.config else None  # read once: data and metric
    if cfg is not None:
        _metric_options_of_config(args, cfg)
    ref = build_reference(args, cfg) if args.config or args.ann_file else None
    samples = build_samples(records, ref, args)
    metrics, results = evaluate(samples, args.radii, args.inclusive)

    names = landmark_names({s['dataset_name'] for s in samples}, ref)
    landmark_rows = per_landmark_rows(results, names, args.radii, args.inclusive)
    image_rows = per_image_rows(results)
    worst = worst_images(image_rows, args.worst)

    os.makedirs(out_dir, exist_ok=True)
    write_json(files['metrics.json'], dict(metrics))
    write_per_landmark_csv(files['per_landmark.csv'], landmark_rows)
    write_per_image_csv(files['per_image.csv'], image_rows)
    write_json(files['worst_images.json'], worst)
    plot_cdf(files['cdf.png'], results, table_radii(results, args.radii))
    plot_per_landmark(files['per_landmark_mre.png'], landmark_rows)

    print_report(metrics, landmark_rows, worst)
    print(f'\nwrote {", ".join(OUTPUT_FILES)} in {out_dir}')
    return dict(metrics=metrics, per_landmark=landmark_rows, per_image=image_rows,
                worst=worst, files=files)


def main(argv=None):
    args = parse_args(argv)
    try:
        return run(args)
    except (ValueError, OSError) as e:
        sys.exit(f'error: {e}')


if __name__ == '__main__':
    main()
