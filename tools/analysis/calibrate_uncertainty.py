"""Calibrate per-landmark uncertainty radii on the validation split (split conformal).

Runs the model on ``val_dataloader`` (or ``--split test``), takes each
landmark's heatmap spread and error, and writes, per landmark, the quantile
of ``error / spread`` that holds ``--coverage`` of the validation errors
(see ``mmpose_medsapiens.evaluation.landmark_uncertainty``). Use the file
with ``tools/infer.py --uncertainty`` and ``MedicalLandmarkMetric(
uncertainty_calibration=...)`` (``tools/test.py --cfg-options``).

Usage:
    python tools/analysis/calibrate_uncertainty.py CONFIG CHECKPOINT OUT.json \
        [--coverage 0.9] [--split val] [--device cpu] [--overwrite]
"""
import argparse
import os
import os.path as osp
import runpy

# The tools' one bootstrap (tools/_bootstrap.py): repository root on sys.path,
# plugin registered; sub-folder scripts cannot import it by name.
runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), os.pardir, '_bootstrap.py'))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmpose_medsapiens.apis import init_landmark_model  # noqa: E402
from mmpose_medsapiens.deploy import model_fingerprint  # noqa: E402
from mmpose_medsapiens.evaluation.uncertainty_calibration import calibrate_uncertainty  # noqa: E402,E501


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='the calibration JSON to write')
    parser.add_argument('--coverage', type=float, default=0.9)
    parser.add_argument('--split', choices=('val', 'test'), default='val')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    if osp.exists(args.out) and not args.overwrite:
        parser.error(f'{args.out} exists; pass --overwrite to replace it')
    return args


def main():
    args = parse_args()
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
