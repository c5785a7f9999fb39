"""Adapter-only runner checkpoints and the parameter count log."""
import glob
import json
import os.path as osp

import pytest
import torch
from conftest import REPO_ROOT, derived_config, run_tool
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from mmpose_medsapiens.engine import parameter_counts
from mmpose_medsapiens.utils import safe_torch_load


def test_parameter_counts_split_backbone_and_head(tiny_config):
    init_default_scope('mmpose')
    model = MODELS.build(Config.fromfile(tiny_config).model)
    counts = parameter_counts(model)
    lora = sum(p.numel() for n, p in model.named_parameters() if '.lora_' in n)
    assert counts['backbone'][0] == lora < counts['backbone'][1]
    assert counts['head'][0] == counts['head'][1] > 0
    assert counts['total'] == (counts['backbone'][0] + counts['head'][0],
                               counts['backbone'][1] + counts['head'][1])


@pytest.mark.slow
def test_adapter_only_checkpoints_train_test_and_log(tiny_config, tmp_path):
    init_default_scope('mmpose')
    base_model = MODELS.build(Config.fromfile(tiny_config).model)
    base = str(tmp_path / 'base.pth')
    torch.save({k: v for k, v in base_model.backbone.state_dict().items() if '.lora_' not in k},
               base)
    cfg = derived_config(
        tiny_config, tmp_path / 'adapter_only.py',
        model=dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=base))),
        custom_hooks=[dict(type='ParameterCountHook'),
                      dict(type='AdapterCheckpointHook', adapter_only=True)])
    work = str(tmp_path / 'work')
    proc = run_tool(['tools/train.py', cfg, '--work-dir', work])
    assert 'trainable / total parameters' in proc.stdout + proc.stderr

    ckpt = safe_torch_load(osp.join(work, 'iter_6.pth'))
    keys = list(ckpt['state_dict'])
    assert ckpt['meta']['adapter_only'] and keys
    assert all('.lora_' in k or k.startswith('head.') for k in keys), keys
    # The validation run at iteration 6 and tools/test.py on the adapter-only
    # checkpoint (base restored from init_cfg) see the same model.
    scalars = glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))[0]
    with open(scalars) as f:
        val = [json.loads(line) for line in f if 'MRE_mm' in line][-1]
    out = str(tmp_path / 'test.json')
    run_tool(['tools/test.py', cfg, osp.join(work, 'iter_6.pth'), '--work-dir',
              str(tmp_path / 't'), '--out', out, '--cfg-options',
              'test_dataloader.dataset.ann_file=synthetic_ceph_coco_val_annotations.json'])
    with open(out) as f:
        tested = json.load(f)
    assert abs(tested['MRE_mm'] - val['MRE_mm']) < 1e-4, (tested, val)


def test_strict_load_hook_refuses_a_checkpoint_that_leaves_tensors_unloaded(
        tiny_config, tmp_path):
    from mmengine.runner import Runner

    from mmpose_medsapiens.models import IncompleteCheckpointError
    init_default_scope('mmpose')
    model = MODELS.build(Config.fromfile(tiny_config).model)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith('head.final_layer')}
    state['head.conv_layers.3.weight'] = torch.zeros(16, 16, 1, 1)  # a second 1x1 conv
    ckpt = str(tmp_path / 'other_head.pth')
    torch.save({'state_dict': state, 'meta': {}}, ckpt)
    cfg = Config.fromfile(tiny_config)
    cfg.update(work_dir=str(tmp_path / 'work'), load_from=ckpt)
    runner = Runner.from_cfg(cfg)
    with pytest.raises(IncompleteCheckpointError) as error:
        runner.test()
    message = str(error.value)
    assert 'other_head.pth' in message and 'missing: head.final_layer.weight' in message
    assert 'not in the model: head.conv_layers.3.weight' in message


def test_every_shipped_config_keeps_buffers_in_sync_across_ranks():
    # A config's custom_hooks list replaces MMPose's default [SyncBuffersHook].
    configs = glob.glob(osp.join(REPO_ROOT, 'configs', '*.py'))
    assert len(configs) > 10
    for path in configs:
        types = [h['type'] for h in Config.fromfile(path).get('custom_hooks', [])]
        assert 'SyncBuffersEveryIterHook' in types, (osp.basename(path), types)


class _Runner:

    def __init__(self):
        self.model = torch.nn.BatchNorm1d(3)


def test_buffer_sync_after_each_train_iteration_only_when_distributed(monkeypatch):
    from mmpose_medsapiens.engine import SyncBuffersEveryIterHook
    calls = []
    monkeypatch.setattr('mmpose_medsapiens.engine.hooks.sync_buffers_hook.all_reduce_params',
                        lambda params, op: calls.append((len(list(params)), op)))
    runner = _Runner()
    hook = SyncBuffersEveryIterHook()
    assert hook.distributed is False
    hook.after_train_iter(runner, 0)
    assert calls == []
    hook.distributed = True
    hook.after_train_iter(runner, 0)
    hook.after_train_iter(runner, 1)
    assert calls == [(3, 'mean'), (3, 'mean')]  # running mean, var and the batch count
