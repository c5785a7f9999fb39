"""Test (and evaluate) a pose model; MMPose's ``tools/test.py`` with this plugin loaded."""
import argparse
import os
import os.path as osp

import mmengine
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.runner import Runner

# Registers the plugin, so that checkpoint loading is safe (weights-only) even for
# configs that forget custom_imports.
import mmpose_medsapiens  # noqa: F401
from mmpose_medsapiens.utils import close_distributed, prepare_run


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and eval) a pose model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save evaluation results')
    parser.add_argument('--out', help='the file to save metric results (.json/.yaml/.pkl).')
    parser.add_argument('--dump', type=str,
                        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file.')
    parser.add_argument('--show-dir',
                        help='directory where the visualization images will be saved.')
    parser.add_argument('--show', action='store_true',
                        help='whether to display the prediction results')
    parser.add_argument('--interval', type=int, default=1, help='visualize per interval samples.')
    parser.add_argument('--wait-time', type=float, default=1, help='display time of every window')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    """Merge CLI arguments into the config, as MMPose's test tool does."""
    cfg.launcher = args.launcher
    cfg.load_from = args.checkpoint

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.show or (args.show_dir is not None):
        assert 'visualization' in cfg.default_hooks, \
            'PoseVisualizationHook is not set in the `default_hooks` field of config.'
        cfg.default_hooks.visualization.enable = True
        cfg.default_hooks.visualization.show = args.show
        if args.show:
            cfg.default_hooks.visualization.wait_time = args.wait_time
        cfg.default_hooks.visualization.out_dir = args.show_dir
        cfg.default_hooks.visualization.interval = args.interval

    if args.dump:
        dump_file = args.dump
        if not dump_file.endswith(('.pkl', '.pickle')):
            raise ValueError('--dump must name a .pkl or .pickle file')
        dump_metric = dict(type='DumpResults', out_file_path=dump_file)
        if isinstance(cfg.test_evaluator, (list, tuple)):
            cfg.test_evaluator = [*cfg.test_evaluator, dump_metric]
        else:
            cfg.test_evaluator = [cfg.test_evaluator, dump_metric]

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


class SaveMetricsHook(Hook):
    """Write the test metrics to ``--out`` once testing ends."""

    def __init__(self, out_file):
        self.out_file = out_file

    def after_test_epoch(self, runner, metrics=None):
        if runner.rank == 0 and metrics is not None:
            mmengine.dump(dict(metrics), self.out_file)


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    prepare_run(cfg)  # slurm port, TF32, gloo on a CPU-only host
    runner = Runner.from_cfg(cfg)
    if args.out:
        runner.register_hook(SaveMetricsHook(args.out), priority='LOWEST')
    runner.test()
    close_distributed()


if __name__ == '__main__':
    main()
