"""Real hand radiographs end to end on this CPU: convert, cache, train from scratch, test.

``DATA_DIR`` is a local copy of the hand set of DonggeJia/SpatialConfiguration-Net
(133 Digital Hand Atlas JPEGs, ~1400x1900, split into ``dataset/train`` 91,
``dataset/valid`` 21 and ``dataset/test`` 21) plus the landmark table their
coordinates come from, Payer's ``setup/all.csv``
(christianpayer/MedicalDataAugmentationTool-HeatmapRegression), at
``DATA_DIR/setup/all.csv`` or ``DATA_DIR/all.csv``. Nothing of it is shipped.

The run goes through the path a user takes, timed step by step:

1. :func:`convert_payer_hand` with split folders (what
   ``tools/dataset_converters/payer_hand_to_coco.py --split-folders`` runs)
   writes the hand configs' layout (``hand_coco_{train,val,test}_annotations.json``
   + ``Images/``);
2. the working-resolution cache of the train and val splits (what
   ``tools/dataset_converters/build_working_resolution_cache.py`` builds);
3. ``configs/cpu_tiny_hand.py`` (a small Sapiens-architecture ViT, no
   pretrained weights) trains from scratch for ``--epochs`` epochs, stopped at
   ``--max-train-minutes`` whatever the epoch;
4. the trained model is tested on the 21 original test images (full-size
   JPEGs through ``LoadMedicalImage``) with the hand protocol: errors scaled per
   image so that the wrist width (landmarks 1 and 5) is 50 mm, SDR at 2/4/10 mm.

Reported next to the model: the mean-shape baselines of the same test images
(the training mean in image pixels, and the stronger one in fractions of the
image box), and the model's MRE as a fraction of each. A check that the
real-data path learns, not a claim about Sapiens.

Writes ``<out-dir>/real_hand.json``; the work folder (converted data, cache,
logs, checkpoints) is a new ``<work-dir>/<timestamp>`` each run.

Usage:
    python tools/benchmarks/real_hand.py DATA_DIR [--epochs 150] [--max-train-minutes 25]
        [--work-dir work_dirs/real_hand] [--out-dir work_dirs/benchmarks] [--quick]
"""
import copy
import datetime
import os
import os.path as osp
import sys
import time

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpose.registry import DATASETS, HOOKS

import mmpose_medsapiens  # noqa: F401  (registers the plugin)
from mmpose_medsapiens.conversion.readers import convert_payer_hand
from mmpose_medsapiens.conversion.working_resolution_cache import build_cache
from mmpose_medsapiens.evaluation import mean_shape_baseline
from mmpose_medsapiens.testing import QUICK_ARCH, base_parser, print_table, write_json

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO_ROOT, 'configs', 'cpu_tiny_hand.py')
SPLIT_FOLDERS = dict(train='train', val='valid', test='test')
METRIC_KEYS = ('MRE_mm', 'STD_mm', 'MedianRE_mm', 'SDR_2mm', 'SDR_4mm', 'SDR_10mm')


@HOOKS.register_module(force=True)
class TrainTimeLimitHook(Hook):
    """Stop training after the epoch in which ``seconds`` have passed."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.start = None
        self.stopped_at_epoch = None

    def before_train(self, runner) -> None:
        self.start = time.time()

    def after_train_epoch(self, runner) -> None:
        if time.time() - self.start >= self.seconds and not runner.train_loop.stop_training:
            runner.train_loop.stop_training = True
            self.stopped_at_epoch = runner.epoch + 1  # runner.epoch counts from 0 here
            runner.logger.info(f'time limit of {self.seconds:.0f} s reached after epoch '
                               f'{self.stopped_at_epoch}: training stops')


def find_inputs(data_dir: str) -> dict:
    """The landmark table and the three split folders of ``data_dir``."""
    tables = [osp.join(data_dir, 'setup', 'all.csv'), osp.join(data_dir, 'all.csv')]
    table = next((p for p in tables if osp.isfile(p)), None)
    if table is None:
        raise FileNotFoundError(f"No landmark table in {data_dir}: put Payer's setup/all.csv at "
                                f'{tables[0]} or {tables[1]}')
    folders = {}
    for split, name in SPLIT_FOLDERS.items():
        candidates = [osp.join(data_dir, 'dataset', name), osp.join(data_dir, name)]
        folder = next((p for p in candidates if osp.isdir(p)), None)
        if folder is None:
            raise FileNotFoundError(f'No {split} image folder in {data_dir}: expected '
                                    f'{candidates[0]} or {candidates[1]}')
        folders[split] = folder
    return dict(csv=table, split_folders=folders)


def _dataset(data_root: str, split: str):
    return DATASETS.build(dict(type='HandXrayDataset', data_root=data_root,
                               ann_file=f'hand_coco_{split}_annotations.json',
                               data_prefix=dict(img='Images/'), test_mode=True, pipeline=[]))


def build_config(converted: str, cache: str, work_dir: str, epochs: int, max_seconds: float,
                 quick: bool) -> Config:
    """``configs/cpu_tiny_hand.py`` on the converted data: train/val from the cache."""
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = work_dir
    cfg.train_dataloader.dataset.data_root = cache
    cfg.val_dataloader.dataset.data_root = cache
    cfg.test_dataloader.dataset.data_root = converted  # the original images
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = min(cfg.train_cfg.val_interval, epochs)
    for scheduler in cfg.param_scheduler:
        if scheduler.type == 'CosineAnnealingLR':
            scheduler.end = scheduler.T_max = epochs
    cfg.default_hooks.checkpoint.interval = epochs
    cfg.custom_hooks = list(cfg.custom_hooks) + [dict(type='TrainTimeLimitHook',
                                                      seconds=max_seconds)]
    if quick:  # seconds, numbers meaningless
        cfg.model.backbone.arch = dict(QUICK_ARCH)
        cfg.model.head.in_channels = QUICK_ARCH['embed_dims']
        cfg.train_dataloader.batch_size = 4
        cfg.param_scheduler[0].end = 2
    return cfg


def run(data_dir: str, work_root: str, epochs: int, max_train_minutes: float,
        quick: bool = False) -> dict:
    """All steps; returns the result dict written to JSON."""
    start = time.time()
    inputs = find_inputs(data_dir)
    stamp = datetime.datetime.now().strftime('%Y%m%d_%H%M%S')
    work_dir = osp.abspath(osp.join(work_root, stamp))
    converted, cache = osp.join(work_dir, 'converted'), osp.join(work_dir, 'cache')
    timings = {}

    t0 = time.time()
    convert_payer_hand(data_dir, converted, split_folders=inputs['split_folders'],
                       csv_path=inputs['csv'])
    timings['convert_s'] = time.time() - t0

    cfg = build_config(converted, cache, osp.join(work_dir, 'train'), epochs,
                       max_train_minutes * 60.0, quick)
    t0 = time.time()
    source = copy.deepcopy(cfg)
    for split in ('train', 'val'):
        source[f'{split}_dataloader'].dataset.data_root = converted
    build_cache(source, cache, splits=('train', 'val'))
    timings['cache_s'] = time.time() - t0

    runner = Runner.from_cfg(cfg)
    t0 = time.time()
    runner.train()
    timings['train_s'] = time.time() - t0
    limit_hook = next(h for h in runner.hooks if isinstance(h, TrainTimeLimitHook))
    t0 = time.time()
    model = runner.test()
    timings['test_s'] = time.time() - t0

    init_default_scope('mmpose')
    train_ds, test_ds = _dataset(converted, 'train'), _dataset(converted, 'test')
    baselines = {frame: mean_shape_baseline(train_ds, test_ds, frame)
                 for frame in ('pixels', 'box')}
    timings['total_s'] = time.time() - start
    ratio = model['MRE_mm'] / baselines['box']['MRE_mm']
    return dict(
        model={k: float(model[k]) for k in METRIC_KEYS + ('EPE', )},
        mean_shape_baseline_pixels={k: float(baselines['pixels'][k]) for k in METRIC_KEYS},
        mean_shape_baseline_box={k: float(baselines['box'][k]) for k in METRIC_KEYS},
        mre_ratio_to_box_baseline=ratio,
        mre_ratio_to_pixel_baseline=model['MRE_mm'] / baselines['pixels']['MRE_mm'],
        images=dict(train=len(train_ds), val=len(_dataset(converted, 'val')),
                    test=len(test_ds)),
        epochs_run=limit_hook.stopped_at_epoch or runner.epoch,
        stopped_by_time_limit=limit_hook.stopped_at_epoch is not None,
        timings_s={k: round(v, 1) for k, v in timings.items()},
        work_dir=work_dir)


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument('data_dir', help='hand set copy: dataset/{train,valid,test}/*.jpg and '
                        'setup/all.csv')
    parser.add_argument('--epochs', type=int, default=None,
                        help='training epochs (default 150; --quick: 2)')
    parser.add_argument('--max-train-minutes', type=float, default=25.0,
                        help='training stops after the epoch that passes this (default 25)')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'real_hand'),
                        help='a new <work-dir>/<timestamp> holds the data, cache and logs')
    args = parser.parse_args(argv)
    epochs = args.epochs or (2 if args.quick else 150)
    try:
        result = run(args.data_dir, args.work_dir, epochs, args.max_train_minutes, args.quick)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f'error: {e}')

    rows = [dict(method='cpu_tiny_hand (from scratch)', **result['model']),
            dict(method='mean shape, box frame', **result['mean_shape_baseline_box']),
            dict(method='mean shape, pixels', **result['mean_shape_baseline_pixels'])]
    print_table(rows, ('method', ) + METRIC_KEYS,
                f'real hand test split ({result["images"]["test"]} images), wrist rule, mm')
    t = result['timings_s']
    print(f'\nepochs {result["epochs_run"]}'
          f'{" (stopped by the time limit)" if result["stopped_by_time_limit"] else ""}; '
          f'convert {t["convert_s"]} s, cache {t["cache_s"]} s, train {t["train_s"]} s, '
          f'test {t["test_s"]} s, total {t["total_s"]} s on {os.cpu_count()} CPU(s)')
    print(f'MRE {result["model"]["MRE_mm"]:.3f} mm = '
          f'{result["mre_ratio_to_box_baseline"]:.3f} x the box-frame mean-shape baseline, '
          f'{result["mre_ratio_to_pixel_baseline"]:.3f} x the pixel one; all steps in '
          f'{t["total_s"] / 60:.1f} min')
    write_json(args.out_dir, 'real_hand',
               dict(data_dir=osp.abspath(args.data_dir), config=osp.relpath(CONFIG, REPO_ROOT),
                    epochs=epochs, max_train_minutes=args.max_train_minutes, quick=args.quick),
               result)
    return result


if __name__ == '__main__':
    main()
