"""No-download demo: synthetic radiographs -> Sapiens ViT + LoRA -> SDR/MRE.

Draws a small cephalogram-like landmark set, trains the tiny config
``configs/demo_synthetic_ceph.py`` through the normal MMEngine runner, tests
it on held-out images and writes into ``--out-dir``:

- ``metrics.json``: the model's MRE / SDR (mm) on the test split, the same
  metrics of the mean-shape baseline (the training-set mean landmark
  positions predicted for every image), their ratio and the timings;
- ``uncertainty_calibration.json``: per-landmark uncertainty radii (90 %
  split conformal, on the validation split); ``metrics.json`` reports their
  coverage on the test split and the rank correlation of spread and error;
- ``overlays/*.png``: test images with ground truth (green) and prediction
  (red);
- the runner's logs and checkpoints.

Exits with status 1 when the model does not beat half the baseline MRE.

Usage:
    python tools/demo.py [--out-dir work_dirs/demo] [--epochs 30]
"""
import argparse
import json
import os
import os.path as osp
import pickle
import time

import cv2
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpose.registry import DATASETS

# Registers the plugin, so that checkpoint loading is safe (weights-only) even for
# configs that forget custom_imports.
import mmpose_medsapiens  # noqa: F401
from mmpose_medsapiens.deploy import model_fingerprint
from mmpose_medsapiens.evaluation import (calibrate_uncertainty, evaluate_with_uncertainty,
                                          mean_shape_baseline)
from mmpose_medsapiens.testing import generate_synthetic_dataset

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join(REPO_ROOT, 'configs', 'demo_synthetic_ceph.py')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out-dir', default='work_dirs/demo', help='where results go')
    parser.add_argument('--config', default=DEFAULT_CONFIG, help='model/training config')
    parser.add_argument('--num-train', type=int, default=240)
    parser.add_argument('--num-val', type=int, default=30)
    parser.add_argument('--num-test', type=int, default=60)
    parser.add_argument('--epochs', type=int, default=None, help='override max_epochs')
    parser.add_argument('--seed', type=int, default=0, help='data and training seed')
    parser.add_argument('--num-overlays', type=int, default=8)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args()


def mean_shape_baseline_of(cfg):
    """Metrics of predicting the training mean landmark positions everywhere."""
    init_default_scope('mmpose')
    datasets = [DATASETS.build(dict(cfg[f'{split}_dataloader'].dataset, pipeline=[],
                                    test_mode=True)) for split in ('train', 'test')]
    return mean_shape_baseline(*datasets)


def sdr_radii(metrics):
    """The SDR radii (mm) a metrics dict reports, ascending."""
    return sorted(float(k[len('SDR_'):-len('mm')]) for k in metrics
                  if k.startswith('SDR_') and k.endswith('mm'))


def uncertainty_on_test(model, val_dataloader, test_dataloader, path, coverage=0.9):
    """Calibrate on validation, write the calibration, score it on test."""
    model.eval()
    calibration = calibrate_uncertainty(model, val_dataloader, coverage, model_fingerprint(model))
    calibration.dump(path)
    metric = evaluate_with_uncertainty(model, test_dataloader, calibration)
    metrics = metric.compute_metrics(metric.results)
    key = f'coverage_{100 * coverage:g}'
    return dict(nominal_coverage=100 * coverage, test_coverage=metrics[key],
                spearman_spread_error=metrics['uncertainty_spearman'],
                outside_validation=metrics['outside_validation'],
                within_5_points=bool(abs(metrics[key] - 100 * coverage) <= 5))


def draw_overlays(dump_file, out_dir, num):
    os.makedirs(out_dir, exist_ok=True)
    with open(dump_file, 'rb') as f:
        samples = pickle.load(f)
    written = []
    for sample in samples[:num]:
        img = cv2.imread(sample['img_path'], cv2.IMREAD_COLOR)
        gt = np.asarray(sample['gt_instances']['keypoints'])[0]
        pred = np.asarray(sample['pred_instances']['keypoints'])[0]
        scale = 2  # upsample so markers stay readable on small images
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        for (gx, gy), (px, py) in zip(gt * scale, pred * scale):
            g, p = (int(round(gx)), int(round(gy))), (int(round(px)), int(round(py)))
            cv2.line(img, g, p, (0, 255, 255), 1, cv2.LINE_AA)
            cv2.circle(img, g, 5, (0, 255, 0), 2, cv2.LINE_AA)
            cv2.drawMarker(img, p, (0, 0, 255), cv2.MARKER_TILTED_CROSS, 10, 2, cv2.LINE_AA)
        path = osp.join(out_dir, osp.splitext(osp.basename(sample['img_path']))[0] + '.png')
        cv2.imwrite(path, img)
        written.append(path)
    return written


def main():
    args = parse_args()
    start = time.time()
    out_dir = osp.abspath(args.out_dir)
    data_dir = osp.join(out_dir, 'data')
    print(f'[demo] drawing synthetic radiographs into {data_dir}')
    generate_synthetic_dataset(data_dir, num_train=args.num_train, num_val=args.num_val,
                               num_test=args.num_test, seed=args.seed)

    cfg = Config.fromfile(args.config)
    cfg.work_dir = out_dir
    cfg.randomness = dict(seed=args.seed)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_dir
    if args.epochs is not None:
        cfg.train_cfg.max_epochs = args.epochs
        cfg.train_cfg.val_interval = min(cfg.train_cfg.val_interval, args.epochs)
    dump_file = osp.join(out_dir, 'test_predictions.pkl')
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [
        cfg.test_evaluator]
    cfg.test_evaluator = [*evaluators, dict(type='DumpResults', out_file_path=dump_file)]
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)

    runner = Runner.from_cfg(cfg)
    t0 = time.time()
    runner.train()
    train_seconds = time.time() - t0
    model_metrics = runner.test()

    # The baseline is scored with the test samples' own calibration (radii included).
    baseline = mean_shape_baseline_of(cfg)
    radii = sdr_radii(model_metrics)
    overlays = draw_overlays(dump_file, osp.join(out_dir, 'overlays'), args.num_overlays)
    uncertainty = uncertainty_on_test(runner.model, runner.val_dataloader, runner.test_dataloader,
                                      osp.join(out_dir, 'uncertainty_calibration.json'))
    ratio = model_metrics['MRE_mm'] / baseline['MRE_mm']
    result = dict(
        model=dict(model_metrics),
        mean_shape_baseline=baseline,
        mre_ratio_model_to_baseline=ratio,
        learned=bool(ratio <= 0.5),
        uncertainty=uncertainty,
        images=dict(train=args.num_train, val=args.num_val, test=args.num_test),
        train_seconds=round(train_seconds, 1),
        total_seconds=round(time.time() - start, 1),
        config=osp.relpath(args.config, REPO_ROOT),
        overlays=[osp.relpath(p, out_dir) for p in overlays])
    with open(osp.join(out_dir, 'metrics.json'), 'w') as f:
        json.dump(result, f, indent=2)

    print('\n[demo] test split, errors in mm:')
    print(f'  {"":<22s} {"MRE":>7s} ' + ' '.join(f'{f"SDR@{r:g}":>8s}' for r in radii))
    for name, m in (('model', model_metrics), ('mean-shape baseline', baseline)):
        print(f'  {name:<22s} {m["MRE_mm"]:7.3f} ' +
              ' '.join(f'{m[f"SDR_{r:g}mm"]:7.1f}%' for r in radii))
    print(f'[demo] model / baseline MRE = {ratio:.3f} (must be <= 0.5); '
          f'train {train_seconds:.0f} s, total {result["total_seconds"]:.0f} s')
    print(f'[demo] uncertainty: {uncertainty["test_coverage"]:.1f} % of test errors inside '
          f'the {uncertainty["nominal_coverage"]:g} % radii calibrated on validation; '
          f'Spearman(spread, error) = {uncertainty["spearman_spread_error"]:.3f}')
    print(f'[demo] wrote {osp.join(out_dir, "metrics.json")} and {len(overlays)} overlays '
          f'in {osp.join(out_dir, "overlays")}')
    if not result['learned']:
        print('[demo] FAILED: the model did not learn enough')
        raise SystemExit(1)


if __name__ == '__main__':
    main()
