"""Success detection rate and mean radial error in physical units.

The metric gathers each sample's errors and reports them; the math is in
:mod:`mmpose_medsapiens.evaluation.functional`, the tables and files in
:mod:`mmpose_medsapiens.evaluation.reports`.
"""
from collections import OrderedDict, defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmpose.registry import METRICS

from ..functional.calibration import DEFAULT_SDR_RADII, normalisation_factor
from ..functional.landmark_errors import radial_errors, success_rate
from ..functional.measurements import measure, measurement_unit
from ..functional.uncertainty import ConformalCalibration, predicted_heatmap_spread, spearman
from ..reports import per_landmark_rows, write_per_image_files


@METRICS.register_module()
class MedicalLandmarkMetric(BaseMetric):
    """Mean radial error (MRE) and success detection rate (SDR).

    Errors are measured in original-image coordinates and converted with each
    sample's ``calibration`` (see :class:`MedicalLandmarkDataset`), so one
    metric serves every landmark set. Landmarks whose ground truth is not
    visible are left out, never counted as zero error.

    Reported keys (``<u>`` is the calibration unit, e.g. ``mm``):
    ``MRE_<u>``, ``STD_<u>`` (population std over all point errors),
    ``MedianRE_<u>`` and ``SDR_<r><u>`` in percent. When samples come from
    several datasets, each key is also reported per dataset as
    ``<dataset_name>/<key>``. For the clinical measurements a landmark set
    declares (carried by ``calibration['measurements']``, see
    :mod:`mmpose_medsapiens.evaluation.functional.measurements`): ``<name>_MAE_<u>`` and
    ``<name>_MAE_STD_<u>``, the mean and std of the absolute difference
    between the measurement on the prediction and on the ground truth
    (``<u>`` is ``deg`` for angles), per dataset only in mixed runs.

    With heatmaps in the predictions (``test_cfg=dict(output_heatmaps=True)``)
    each landmark's heatmap spread is kept (see
    :mod:`mmpose_medsapiens.evaluation.functional.uncertainty`) and
    ``uncertainty_spearman`` reports the rank correlation between spread and
    error; with ``uncertainty_calibration`` also ``coverage_<c>`` (percent of
    errors inside the calibrated radius, nominal ``c`` percent) and
    ``outside_validation`` (percent of landmarks whose spread exceeds what
    validation saw).

    Args:
        radii (Sequence[float], optional): SDR radii in the calibration unit.
            By default each dataset's own protocol radii, carried by its
            samples' ``calibration['radii']`` (e.g. head 2/2.5/3/4 mm, hand
            2/4/10 mm, chest 3/6/9 px), else (2, 2.5, 3, 4).
        inclusive (bool): Count ``PE <= r`` as success instead of the strict
            ``PE < r`` of the MedSapiens/Payer evaluator. Defaults to False.
        outfile_prefix (str, optional): Also write per-image predictions,
            ground truth and errors to ``<prefix>.per_image.json`` and
            ``<prefix>.per_image.csv``.
        uncertainty_calibration (str, optional): A calibration file from
            ``tools/analysis/calibrate_uncertainty.py`` to report coverage with.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Key prefix.
        collect_dir (str, optional): Folder through which
            ``collect_device='cpu'`` gathers the ranks' results. By default
            rank 0 makes one under ``.dist_test`` in its working directory,
            which ranks on other nodes reach only if that directory is shared:
            multi-node jobs without a shared working directory name a folder
            on a file system every node mounts (or use ``collect_device='gpu'``).
    """

    default_prefix: Optional[str] = None
    default_radii = DEFAULT_SDR_RADII

    def __init__(self,
                 radii: Optional[Sequence[float]] = None,
                 inclusive: bool = False,
                 outfile_prefix: Optional[str] = None,
                 uncertainty_calibration: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.radii = None if radii is None else tuple(float(r) for r in radii)
        self.inclusive = inclusive
        self.outfile_prefix = outfile_prefix
        # Loaded (and checked) when the evaluator is built, not after an epoch.
        self.uncertainty_calibration = None if uncertainty_calibration is None else \
            ConformalCalibration.load(uncertainty_calibration)

    def process(self, data_batch: Sequence[dict], data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            name = sample.get('img_path', sample.get('img_id'))
            calibration = sample.get('calibration')
            if calibration is None:
                raise KeyError(
                    f'{name}: the data sample has no "calibration"; build the dataset '
                    f'from MedicalLandmarkDataset and keep "calibration" in '
                    f'PackPoseInputs(meta_keys=...)')
            pred = np.asarray(sample['pred_instances']['keypoints'])[0]
            gt = np.asarray(sample['gt_instances']['keypoints'])[0]
            visible = np.asarray(sample['gt_instances']['keypoints_visible'])[0]
            if visible.ndim == 2:  # (K, 2) as written by KeypointConverter
                visible = visible[:, 0]
            if pred.shape != gt.shape:
                raise ValueError(f'{name}: {pred.shape[0]} predicted landmarks for '
                                 f'{gt.shape[0]} ground-truth landmarks')
            errors = radial_errors(pred, gt, calibration)
            errors[visible <= 0] = np.nan
            result = dict(img_id=sample.get('img_id'), img_path=sample.get('img_path'),
                          dataset_name=sample.get('dataset_name', ''),
                          unit=calibration['unit'], radii=self._radii_of(calibration),
                          errors=errors, pred=pred.astype(np.float64),
                          gt=gt.astype(np.float64),
                          measurements=self._measurements(pred, gt, visible, calibration))
            result.update(self._uncertainty(sample, name, pred, gt, visible))
            self.results.append(result)

    def _uncertainty(self, sample, name, pred, gt, visible) -> dict:
        """``spread`` and ``pixel_errors`` (image pixels) when heatmaps came with it."""
        heatmaps = (sample.get('pred_fields') or {}).get('heatmaps')
        if heatmaps is None:
            return {}
        spread = predicted_heatmap_spread(heatmaps, sample['input_scale'])
        calibration = self.uncertainty_calibration
        if calibration is not None and len(spread) != len(calibration.keypoint_names):
            raise ValueError(f'{name}: {len(spread)} landmarks, but {calibration.path} '
                             f'calibrates {len(calibration.keypoint_names)}')
        pixel_errors = np.linalg.norm(gt.astype(np.float64) - pred, axis=-1)
        pixel_errors[visible <= 0] = np.nan
        return dict(spread=spread, pixel_errors=pixel_errors)

    @staticmethod
    def _measurements(pred, gt, visible, calibration) -> Dict[str, tuple]:
        """Name -> (predicted, ground-truth value, unit) of the sample's measurements."""
        specs = calibration.get('measurements') or ()
        if not specs:
            return {}
        # Measured only where every landmark involved has ground truth; the
        # same normalisation factor (from the ground truth) scales both.
        factor = normalisation_factor(gt, calibration)
        args = dict(specs=specs, spacing=calibration['spacing'], factor=factor,
                    visible=visible > 0)
        on_pred, on_gt = measure(pred, **args), measure(gt, **args)
        return {s['name']: (on_pred[s['name']], on_gt[s['name']],
                            measurement_unit(s, specs, calibration['unit'])) for s in specs}

    def _radii_of(self, calibration: dict) -> tuple:
        if self.radii is not None:
            return self.radii
        return tuple(float(r) for r in calibration.get('radii') or self.default_radii)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('MedicalLandmarkMetric got no results to evaluate')
        groups = defaultdict(list)
        for res in results:
            groups[res['dataset_name']].append(res)
        metrics = OrderedDict()
        for unit in sorted({r['unit'] for r in results}):
            metrics.update(self._summary([r for r in results if r['unit'] == unit], unit))
        if len(groups) > 1:
            for dataset_name, group in groups.items():
                for key, value in self._summary(group, group[0]['unit']).items():
                    metrics[f'{dataset_name}/{key}'] = value
        # Measurements belong to one landmark set: in mixed runs only per set.
        for dataset_name, group in groups.items():
            prefix = f'{dataset_name}/' if len(groups) > 1 else ''
            for key, value in self._measurement_summary(group).items():
                metrics[prefix + key] = value
        metrics.update(self._uncertainty_summary(results))
        self._log_per_landmark(groups)
        if self.outfile_prefix:
            write_per_image_files(self.outfile_prefix, results)
        return metrics

    def _uncertainty_summary(self, results: List[dict]) -> Dict[str, float]:
        results = [r for r in results if 'spread' in r]
        if not results:
            return {}
        spread = np.stack([r['spread'] for r in results])
        errors = np.stack([r['pixel_errors'] for r in results])
        keep = np.isfinite(errors)
        out = OrderedDict(uncertainty_spearman=spearman(spread[keep], errors[keep]))
        calibration = self.uncertainty_calibration
        if calibration is not None:
            inside = errors <= calibration.radius(spread)
            out[f'coverage_{100 * calibration.coverage:g}'] = float(100.0 * inside[keep].mean())
            out['outside_validation'] = float(
                100.0 * calibration.outside_validation(spread)[keep].mean())
        return out

    def _summary(self, results: List[dict], unit: str) -> Dict[str, float]:
        errors = np.concatenate([r['errors'] for r in results])
        errors = errors[~np.isnan(errors)]
        if errors.size == 0:
            raise ValueError('MedicalLandmarkMetric: no visible ground-truth landmark '
                             'in the evaluated samples')
        out = OrderedDict()
        out[f'MRE_{unit}'] = float(errors.mean())
        out[f'STD_{unit}'] = float(errors.std())
        out[f'MedianRE_{unit}'] = float(np.median(errors))
        # Several datasets of one unit: the union of their protocol radii.
        for r in sorted({r for res in results for r in res['radii']}):
            out[f'SDR_{r:g}{unit}'] = success_rate(errors, r, self.inclusive)
        return out

    @staticmethod
    def _measurement_summary(results: List[dict]) -> Dict[str, float]:
        """``<name>_MAE_<unit>`` and ``<name>_MAE_STD_<unit>`` of each measurement.

        The mean and (population) std of ``|predicted - ground truth|`` over
        the images where both are defined. A measurement the ground truth
        defines somewhere is always reported; predictions that leave it
        undefined (coinciding landmarks) are counted in a warning, and a
        measurement no prediction defines reads NaN.
        """
        out, names = OrderedDict(), []
        for res in results:
            names += [n for n in res['measurements'] if n not in names]
        for name in names:
            rows = [res['measurements'][name] for res in results if name in res['measurements']]
            rows = [(p, g, u) for p, g, u in rows if not np.isnan(g)]
            if not rows:
                continue
            diffs = np.array([abs(p - g) for p, g, _ in rows], dtype=np.float64)
            undefined = int(np.isnan(diffs).sum())
            if undefined:
                MMLogger.get_current_instance().warning(
                    f'{name}: undefined on {undefined} of {len(rows)} predictions (coinciding '
                    'landmarks); its MAE is over the others')
            diffs = diffs[~np.isnan(diffs)]
            unit = rows[0][2]
            out[f'{name}_MAE_{unit}'] = float(diffs.mean()) if diffs.size else float('nan')
            out[f'{name}_MAE_STD_{unit}'] = float(diffs.std()) if diffs.size else float('nan')
        return out

    def _log_per_landmark(self, groups: Dict[str, List[dict]]) -> None:
        logger = MMLogger.get_current_instance()
        id2name = (self.dataset_meta or {}).get('keypoint_id2name', {})
        for dataset_name, group in groups.items():
            names = [id2name.get(k, '') for k in range(len(group[0]['errors']))]
            rows = per_landmark_rows(group, {dataset_name: names}, inclusive=self.inclusive)
            lines = [f'per-landmark MRE ({dataset_name or "dataset"}, {group[0]["unit"]}):']
            for row in rows:
                mre = f'{row["MRE"]:.3f}' if row['count'] else 'n/a'
                lines.append(f'  {row["landmark"]:3d} {row["name"]:<28s} {mre}')
            logger.info('\n'.join(lines))
