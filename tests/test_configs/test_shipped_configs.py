"""Every shipped config builds and runs one train iteration + one evaluation.

The configs run as shipped (codec, pipelines, schedule, hooks, evaluator);
only the architecture is shrunk, the checkpoint dropped and the data pointed
at a tiny set written in each config's layout.
"""
import glob
import os.path as osp

import pytest
from conftest import REPO_ROOT
from mmengine.config import Config
from mmengine.runner import Runner
from mmpose.registry import DATASETS

from mmpose_medsapiens.testing import write_blank_landmark_set

CONFIGS = sorted(p for p in glob.glob(osp.join(REPO_ROOT, 'configs', '*.py'))
                 if not osp.basename(p).startswith('demo_'))
TINY = dict(embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=32)


def test_all_configs_are_listed():
    names = {osp.basename(p) for p in CONFIGS}
    assert {'medsapiens_head.py', 'medsapiens_hand.py', 'medsapiens_chest.py',
            'medsapiens_legs.py', 'medsapiens_teeth_fewshot.py', 'sapiens_full_head.py',
            'medsapiens_generalist.py', 'medsapiens_generalist_balanced.py'} <= names
    assert {f'sapiens_lora_{s}.py' for s in ('head', 'hand', 'chest', 'legs')} <= names


@pytest.mark.slow
@pytest.mark.parametrize('config', CONFIGS, ids=osp.basename)
def test_config_trains_one_iteration_and_evaluates(config, tmp_path):
    cfg = Config.fromfile(config)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[loader].dataset
        for i, source in enumerate(ds.get('datasets', [ds])):
            root = tmp_path / f'{loader}_{i}'
            k = len(DATASETS.get(source.type).METAINFO['keypoint_info'])
            write_blank_landmark_set(root, k, [(120, 160), (100, 140)], spacing=[0.15, 0.15],
                                     ann_name=source.ann_file)
            source.data_root = str(root)
            if 'num_shots' in source:
                source.num_shots = 2
        # A batch sampler (the balanced generalist's) keeps its own batch size.
        cfg[loader].update(batch_size=cfg[loader].sampler.get('batch_size', 2), num_workers=0,
                           persistent_workers=False)
    cfg.model.backbone.update(arch=TINY, init_cfg=None)
    cfg.model.head.update(in_channels=32, deconv_out_channels=(8, 8),
                          conv_out_channels=(8, ) * len(cfg.model.head.conv_kernel_sizes))
    if 'paramwise_cfg' in cfg.optim_wrapper:  # layer decay over the tiny arch's one layer
        cfg.optim_wrapper.paramwise_cfg.num_layers = 1
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = osp.basename(config)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    unit = 'px@512' if 'chest' in config else 'mm'
    assert f'MRE_{unit}' in metrics and metrics[f'MRE_{unit}'] > 0
    if 'generalist' in config:  # one model, every set reported on its own
        assert {'head/MRE_mm', 'chest/MRE_px@512', 'hand/SDR_10mm', 'legs/SDR_4mm'} <= set(metrics)
    best = cfg.default_hooks.checkpoint.save_best
    assert best in metrics, (best, sorted(metrics))
    if cfg.train_dataloader.sampler.type == 'MultiSourceSampler':
        # Every set appears once in each batch of the balanced generalist.
        runner.train_loop.dataloader.sampler.set_epoch(0)
        batch_indices = list(runner.train_loop.dataloader.sampler)
        sources = [runner.train_loop.dataloader.dataset._get_subset_index(i)[0]
                   for i in batch_indices]
        size = cfg.train_dataloader.batch_size
        assert len(sources) == 2 * size  # 8 images = 2 batches of one per set
        assert all(sorted(sources[i:i + size]) == [0, 1, 2, 3]
                   for i in range(0, len(sources), size))
