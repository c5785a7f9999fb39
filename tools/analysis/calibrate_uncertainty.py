"""Calibrate per-landmark uncertainty radii on the validation split (split conformal).

Runs the model on ``val_dataloader`` (or ``--split test``), takes each
landmark's heatmap spread and error, and writes, per landmark, the quantile
of ``error / spread`` that holds ``--coverage`` of the validation errors
(see ``mmpose_medsapiens.evaluation.functional.uncertainty``). Use the file
with ``tools/infer.py --uncertainty`` and ``MedicalLandmarkMetric(
uncertainty_calibration=...)`` (``tools/test.py --cfg-options``).

Usage:
    python tools/analysis/calibrate_uncertainty.py CONFIG CHECKPOINT OUT.json \
        [--coverage 0.9] [--split val] [--device cpu] [--overwrite]
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmpose_medsapiens  # noqa: F401  (registers the datasets and the metric)
from mmpose_medsapiens.apis import init_landmark_model
from mmpose_medsapiens.deploy import model_fingerprint
from mmpose_medsapiens.evaluation import calibrate_uncertainty


def parse_args(argv=None):
    """The command line; ``argv`` defaults to ``sys.argv[1:]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='the calibration JSON to write')
    parser.add_argument('--coverage', type=float, default=0.9)
    parser.add_argument('--split', choices=('val', 'test'), default='val')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if osp.exists(args.out) and not args.overwrite:
        parser.error(f'{args.out} exists; pass --overwrite to replace it')
    return args


def main(argv=None):
    """Build the model and the split's dataloader, calibrate, write the file."""
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = init_landmark_model(cfg, args.checkpoint, device=args.device)
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    dataloader = Runner.build_dataloader(cfg[f'{args.split}_dataloader'])
    calibration = calibrate_uncertainty(model, dataloader, args.coverage,
                                        model_fingerprint(model))
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    calibration.dump(args.out)
    print(f'wrote {args.out}: {args.split} split, {len(dataloader.dataset)} images, '
          f'{100 * args.coverage:g} % coverage; error/spread quantile per landmark: '
          + ' '.join(f'{q:.2f}' for q in calibration.quantiles))


if __name__ == '__main__':
    main()
